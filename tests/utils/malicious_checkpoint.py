"""A checkpoint file whose pickle runs code when it is loaded without
``weights_only``: the payload creates a marker folder, harmless and easy to
observe."""
import os

import torch


class CreatesFolder:
    """Pickles as the call ``os.mkdir(folder)``."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def __reduce__(self):
        return (os.mkdir, (self.folder, ))


def save_malicious_checkpoint(path: str, checkpoint: dict) -> str:
    """Save ``checkpoint`` with the payload under the key ``'payload'`` to
    ``path``; returns the folder the payload creates when it runs."""
    marker = f'{path}.payload_ran'
    torch.save(dict(checkpoint, payload=CreatesFolder(marker)), path)
    return marker
