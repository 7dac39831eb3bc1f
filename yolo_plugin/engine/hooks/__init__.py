"""Hooks of yolo_plugin (registered in ``yolo_plugin.registry.HOOKS``)."""
from .nan_guard_hook import NaNGuardHook, NonFiniteLossError
from .throughput_hook import ThroughputHook

__all__ = ['NaNGuardHook', 'NonFiniteLossError', 'ThroughputHook']
