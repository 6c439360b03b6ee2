"""A labelled form field whose validation message appears right below it."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

Check = Callable[[str], str | None]  # returns an error message, or None when fine


class FormField(Vertical):
    """Label, input and (when invalid) the reason, for one value of a form."""

    DEFAULT_CSS = """
    FormField {
        height: auto;
    }
    FormField > Horizontal {
        height: 1;
    }
    FormField .field-label {
        width: 16;
        padding-right: 1;
        text-align: right;
    }
    FormField Input {
        width: 1fr;
        background: $boost;
    }
    FormField .field-error {
        display: none;
        padding-left: 16;
        color: $text-error;
    }
    FormField.-invalid .field-error {
        display: block;
    }
    FormField.-invalid Input {
        background-tint: $error 25%;
    }
    FormField .field-hint {
        padding-left: 16;
        color: $text-muted;
    }
    """

    def __init__(
        self,
        label: str,
        *,
        id: str,
        value: str = "",
        placeholder: str = "",
        hint: str = "",
        password: bool = False,
        check: Check | None = None,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__(id=id)
        self.label = label
        self._value = value
        self._placeholder = placeholder
        self._hint = hint
        self._password = password
        self._check = check
        self._cursor_blink = cursor_blink
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(self.label, classes="field-label")
            field = Input(
                self._value,
                placeholder=self._placeholder,
                password=self._password,
                id=f"{self.id}-input",
                select_on_focus=False,
                compact=True,
            )
            field.cursor_blink = self._cursor_blink
            yield field
        yield Static("", classes="field-error", markup=False)
        if self._hint:
            yield Static(self._hint, classes="field-hint", markup=False)

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    @property
    def value(self) -> str:
        return self.input.value

    def validate(self) -> bool:
        """Check the value now; shows or clears the message. True when fine."""
        self.show_error(self._check(self.value) if self._check else None)
        return self.error is None

    def show_error(self, message: str | None) -> None:
        self.error = message
        self.set_class(message is not None, "-invalid")
        self.query_one(".field-error", Static).update(message or "")

    @on(Input.Blurred)
    def _blurred(self) -> None:
        if self.value or self.error is not None:
            self.validate()

    @on(Input.Changed)
    def _changed(self) -> None:
        if self.error is not None:
            self.validate()  # clear the message as soon as it is fixed
