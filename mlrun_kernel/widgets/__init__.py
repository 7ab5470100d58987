"""ipyvuetify widgets that Voila apps compose; the logic lives here, not in notebooks.

- ``gallery``: ``ModelGallery``, the registry's models as cards (``model_card``).
- ``nav``: ``NavBar``, the bar over every app, and ``app_page`` (bar + app, friendly failures).
- ``apps``: what each Voilà app of voila_apps/ shows.
"""

from mlrun_kernel.widgets.gallery import Markdown, ModelGallery, group_by_image, model_card
from mlrun_kernel.widgets.nav import NavBar, app_page

__all__ = ["Markdown", "ModelGallery", "NavBar", "app_page", "group_by_image", "model_card"]
