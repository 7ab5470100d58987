"""``SchemaForm``: a model's parameters JSON Schema as an ipyvuetify form.

The layers, from the inside out (only the last knows ipyvuetify):

- :mod:`.pointers`: JSON pointers over plain data; the form's one address.
- :mod:`.resolve`: what applies at one place (``$ref``, ``allOf``,
  conditionals, chosen ``oneOf``/``anyOf`` branches) as a :class:`~.resolve.Node`.
- :mod:`.kinds`: pure decisions: which input, field order, array buttons,
  branch switches, new values.
- :mod:`.validation`: the service's validation as :class:`FieldError` s at pointers.
- :mod:`.fields` (the base), :mod:`.leaves` (inputs), :mod:`.containers`
  (objects, arrays, branch pickers, null toggles): one thin ipyvuetify view
  per kind; :mod:`.form`: ``SchemaForm``, which holds the data and ties them.
"""

from .form import SchemaForm
from .validation import FieldError

__all__ = ["FieldError", "SchemaForm"]
