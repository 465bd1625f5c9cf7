"""The one place that maps a driver config's ``type`` to its implementation.

Each driver module pairs a pydantic config class (``type: Literal[...]``) with
its device class. The unions below are what the appliance config embeds; the
factories build a device from a validated config. Adding a driver means adding
its config class to a union and one line to a table here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field

from drivers.interfaces import Camera, FingerprintReader
from drivers.sim.camera import FileCamera, FileCameraConfig, SimCamera, SimCameraConfig
from drivers.sim.reader import SimFingerprintReader, SimReaderConfig

CameraConfig = Annotated[
    SimCameraConfig | FileCameraConfig,
    Field(discriminator="type"),
]

ReaderConfig = Annotated[
    SimReaderConfig,
    Field(discriminator="type"),
]

_CAMERAS: dict[type[Any], Callable[[Any], Camera]] = {
    SimCameraConfig: SimCamera,
    FileCameraConfig: FileCamera,
}

_READERS: dict[type[Any], Callable[[Any], FingerprintReader]] = {
    SimReaderConfig: SimFingerprintReader,
}


def create_camera(config: Any) -> Camera:
    """Build the camera a validated :data:`CameraConfig` describes."""
    try:
        factory = _CAMERAS[type(config)]
    except KeyError:
        raise ValueError(f"no camera driver for config {type(config).__name__}") from None
    return factory(config)


def create_reader(config: Any) -> FingerprintReader:
    """Build the fingerprint reader a validated :data:`ReaderConfig` describes."""
    try:
        factory = _READERS[type(config)]
    except KeyError:
        raise ValueError(f"no reader driver for config {type(config).__name__}") from None
    return factory(config)
