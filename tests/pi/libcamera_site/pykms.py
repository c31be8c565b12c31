"""kms++'s Python binding (Raspberry Pi OS: python3-kms++), which picamera2 imports for its DRM
preview. doorstep never shows a preview, so only what the import reads exists: the pixel formats."""

import enum

PixelFormat = enum.Enum(
    "PixelFormat",
    ["RGB888", "BGR888", "XRGB8888", "XBGR8888", "YUV420", "YVU420", "NV12", "YUYV", "YVYU"],
)
