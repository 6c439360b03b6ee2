"""Reusable widgets of the app (the Jobs and Servers widgets live in jobs_*/servers_* files)."""

from adit_tui.widgets.chrome import app_header
from adit_tui.widgets.dicom_browser import DicomBrowser, DicomTree, SelectableDicomTree
from adit_tui.widgets.form_fields import FormInput
from adit_tui.widgets.search_form import SearchForm

__all__ = [
    "DicomBrowser",
    "DicomTree",
    "FormInput",
    "SearchForm",
    "SelectableDicomTree",
    "app_header",
]
