"""No registered name of ours equals one of mmdet's or mmengine's, or differs
from one by case only: under the ``yolo_plugin`` scope ours would shadow
theirs, and a one-letter slip in a config (our head was once ``YOLOv3Head``,
mmdet's is ``YOLOV3Head``) would silently build theirs."""
import importlib
import pkgutil

import pytest
from mmdet.utils import register_all_modules
from mmengine.registry import Registry

import yolo_plugin
from yolo_plugin import registry as our_registries

OUR_REGISTRIES = {
    name: value
    for name, value in vars(our_registries).items()
    if isinstance(value, Registry) and value.scope == 'yolo_plugin'
}


@pytest.fixture(scope='module')
def every_module_registered() -> None:
    """Every module of the package imported, so that every class it
    registers anywhere is in our registries, and mmdet's modules in theirs."""
    for module in pkgutil.walk_packages(yolo_plugin.__path__, 'yolo_plugin.'):
        importlib.import_module(module.name)
    register_all_modules(init_default_scope=False)


def ancestors(registry: Registry):
    while registry.parent is not None:
        registry = registry.parent
        yield registry


def test_every_registry_of_ours_is_a_child_of_mmdet():
    assert len(OUR_REGISTRIES) >= 18
    for name, registry in OUR_REGISTRIES.items():
        scopes = [parent.scope for parent in ancestors(registry)]
        assert scopes == ['mmdet', 'mmengine'], name


@pytest.mark.parametrize('name', sorted(OUR_REGISTRIES))
def test_no_name_of_ours_equals_theirs_up_to_case(name, every_module_registered):
    registry = OUR_REGISTRIES[name]
    theirs = {}
    for parent in ancestors(registry):
        for their_name in parent.module_dict:
            theirs.setdefault(their_name.lower(), f'{parent.scope}.{their_name}')
    clashes = {ours: theirs[ours.lower()] for ours in registry.module_dict
               if ours.lower() in theirs}
    assert not clashes, f'{name}: names of ours that clash with theirs: {clashes}'
