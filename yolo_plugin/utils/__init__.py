"""Small helpers that import nothing else of yolo_plugin: safe checkpoint
loading and atomic writing, the allocator policy of CPU training."""
