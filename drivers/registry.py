"""The one place that maps a driver config's ``type`` to its implementation.

Each driver has a pydantic config class (``type: Literal[...]``) in a light
module, and a device class that may pull in heavy libraries (OpenCV, pyusb,
image synthesis). The unions below are what the appliance config embeds; the
tables name each device class by import path so that validating a config
never imports driver code. Adding a driver means adding its config class to a
union and one line to a table here.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any

from pydantic import BaseModel, Field

from drivers.escpos_config import EscposPrinterConfig
from drivers.interfaces import Camera, DocumentReader, FingerprintReader, ReceiptPrinter
from drivers.opencv_camera import OpenCvCameraConfig
from drivers.pcsc.config import PcscReaderConfig
from drivers.sbi.config import SbiCameraConfig, SbiReaderConfig
from drivers.sim.config import (
    FileCameraConfig,
    SimCameraConfig,
    SimPrinterConfig,
    SimReaderConfig,
)
from drivers.usb.config import Uru4000Config
from drivers.vendor_sdk.config import VendorSdkReaderConfig

CameraConfig = Annotated[
    SimCameraConfig | FileCameraConfig | OpenCvCameraConfig | SbiCameraConfig,
    Field(discriminator="type"),
]

ReaderConfig = Annotated[
    SimReaderConfig | Uru4000Config | SbiReaderConfig | VendorSdkReaderConfig,
    Field(discriminator="type"),
]

#: Contactless document (chip) readers; one driver today, a union when more arrive.
DocumentReaderConfig = Annotated[PcscReaderConfig, Field(discriminator="type")]

PrinterConfig = Annotated[
    EscposPrinterConfig | SimPrinterConfig,
    Field(discriminator="type"),
]

#: config class -> "module:Class" of the device it builds.
CAMERA_DRIVERS: dict[type[BaseModel], str] = {
    SimCameraConfig: "drivers.sim.camera:SimCamera",
    FileCameraConfig: "drivers.sim.camera:FileCamera",
    OpenCvCameraConfig: "drivers.opencv_camera:OpenCvCamera",
    SbiCameraConfig: "drivers.sbi.camera:SbiCamera",
}

READER_DRIVERS: dict[type[BaseModel], str] = {
    SimReaderConfig: "drivers.sim.reader:SimFingerprintReader",
    Uru4000Config: "drivers.usb.uru4000:Uru4000Reader",
    SbiReaderConfig: "drivers.sbi.reader:SbiFingerprintReader",
    VendorSdkReaderConfig: "drivers.vendor_sdk.reader:VendorSdkReader",
}


PRINTER_DRIVERS: dict[type[BaseModel], str] = {
    EscposPrinterConfig: "drivers.escpos_printer:EscposPrinter",
    SimPrinterConfig: "drivers.sim.printer:SimReceiptPrinter",
}


def _load(table: dict[type[BaseModel], str], config: BaseModel) -> Any:
    try:
        target = table[type(config)]
    except KeyError:
        raise ValueError(f"no driver for config {type(config).__name__}") from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)(config)


def create_camera(config: BaseModel) -> Camera:
    """Build the camera a validated :data:`CameraConfig` describes."""
    camera: Camera = _load(CAMERA_DRIVERS, config)
    return camera


def create_reader(config: BaseModel) -> FingerprintReader:
    """Build the fingerprint reader a validated :data:`ReaderConfig` describes."""
    reader: FingerprintReader = _load(READER_DRIVERS, config)
    return reader


DOCUMENT_READER_DRIVERS: dict[type[BaseModel], str] = {
    PcscReaderConfig: "drivers.pcsc.reader:PcscDocumentReader",
}


def create_document_reader(config: BaseModel) -> DocumentReader:
    """Build the document reader a validated :data:`DocumentReaderConfig` describes."""
    reader: DocumentReader = _load(DOCUMENT_READER_DRIVERS, config)
    return reader


def create_printer(config: BaseModel) -> ReceiptPrinter:
    """Build the receipt printer a validated :data:`PrinterConfig` describes."""
    printer: ReceiptPrinter = _load(PRINTER_DRIVERS, config)
    return printer
