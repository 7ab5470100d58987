"""ipyvuetify widgets that Voila apps compose; the logic lives here, not in notebooks.

- ``gallery``: ``ModelGallery``, the registry's models as cards (``model_card``).
"""

from mlrun_kernel.widgets.gallery import Markdown, ModelGallery, group_by_image, model_card

__all__ = ["Markdown", "ModelGallery", "group_by_image", "model_card"]
