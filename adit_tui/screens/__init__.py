"""The app's screens: one per mode, plus modals.

Every screen derives from `base.AditScreen` (or `AditModal`): the typed app context and
central reporting of failed workers. Explorer and Transfer (explorer.py, transfer.py,
tags.py, confirm_transfer.py), Jobs (jobs*.py, job_detail.py), Servers (servers*.py) and
Batch (batch*.py) are separate so each can be worked on alone; confirm.py is the yes/no
dialog they share.
"""
