from ..models.conftest import tiny_bert  # noqa: F401 (the fixture)
