"""Registration of all yolo_plugin modules, as mmdet's ``register_all_modules``."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every module that fills a yolo_plugin registry.

    Args:
        init_default_scope: also make ``yolo_plugin`` the current default
            scope, so that bare type names resolve in our registries first.
    """
    import yolo_plugin.datasets  # noqa: F401
    import yolo_plugin.engine  # noqa: F401
    import yolo_plugin.evaluation  # noqa: F401
    import yolo_plugin.models  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or current.scope_name != 'yolo_plugin':
        if current is not None:
            warnings.warn(f'The current default scope "{current.scope_name}" '
                          'is not "yolo_plugin"; switching to it.')
        # A new instance name: DefaultScope instances are unique by name.
        stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S-%f')
        DefaultScope.get_instance(f'yolo_plugin-{stamp}', scope_name='yolo_plugin')
