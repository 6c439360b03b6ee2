"""Form fields of the app: a compact input, a validator around a field rule, and a
labelled field whose validation message appears right below it."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Label, Static

from adit_tui.context import context_of

Check = Callable[[str], str | None]  # returns an error message, or None when fine


def validation_message(result: ValidationResult | None) -> str:
    """What an input's validators said against its value ("" when they accept it)."""
    if result is None or result.is_valid:
        return ""
    return "; ".join(result.failure_descriptions)


class RuleValidator(Validator):
    """A Textual validator around a field rule's check (a message, or None when fine)."""

    def __init__(self, check: Check) -> None:
        super().__init__()
        self.check = check

    def validate(self, value: str) -> ValidationResult:
        message = self.check(value)
        return self.failure(message) if message else self.success()


class FormInput(Input):
    """A compact Input, checked as it changes and when submitted, that follows the app's
    cursor-blink setting (off in tests)."""

    def __init__(
        self,
        value: str = "",
        *,
        placeholder: str = "",
        id: str | None = None,
        classes: str | None = None,
        validators: Iterable[Validator] = (),
        valid_empty: bool = False,
    ) -> None:
        super().__init__(
            value,
            placeholder=placeholder,
            id=id,
            classes=classes,
            validators=list(validators),
            validate_on=["changed", "submitted"],
            valid_empty=valid_empty,
            compact=True,
        )

    def on_mount(self) -> None:
        self.cursor_blink = context_of(self).config.cursor_blink


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
