"""Installs the ``yolo_plugin`` package (``pip install -e .``)."""
import os.path as osp

from setuptools import find_packages, setup


def read_version() -> str:
    namespace = {}
    with open(osp.join('yolo_plugin', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def read_requirements(path: str) -> list:
    with open(path) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


setup(
    name='yolo_plugin',
    version=read_version(),
    description='YOLOv3 family for KITTI and Cityscapes on mmengine / mmdet',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    python_requires='>=3.10',
    packages=find_packages(include=['yolo_plugin', 'yolo_plugin.*']),
    install_requires=read_requirements('requirements.txt'),
    extras_require={'tests': read_requirements('requirements-test.txt'),
                    'deploy': read_requirements('requirements-deploy.txt')},
    license='Apache-2.0',
    zip_safe=False,
)
