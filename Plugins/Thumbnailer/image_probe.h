/*
 * image_probe.h — reads an image's format and dimensions from its header bytes WITHOUT
 * decoding it, and walks its container structure (PNG chunks, JPEG segments, GIF blocks).
 *
 * Why: a decoder allocates width x height pixels as soon as it has read the header. A 100-byte
 * file can declare 100000 x 100000 pixels (a decompression bomb). Reading the dimensions
 * ourselves lets the plugin refuse such files before libgd allocates anything, and walking the
 * structure to its end marker turns a truncated upload into a clear "image.truncated" refusal
 * instead of a half-grey thumbnail.
 *
 * Everything here is pure and reentrant: no allocation, no global state.
 */
#ifndef THUMBNAILER_IMAGE_PROBE_H
#define THUMBNAILER_IMAGE_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include "gateway_plugin.h"

/* Internal to libThumbnailer.so: only gateway_plugin_entry is exported. */
#pragma GCC visibility push(hidden)

typedef enum image_format {
    IMAGE_FORMAT_UNKNOWN = 0,
    IMAGE_FORMAT_PNG,
    IMAGE_FORMAT_JPEG,
    IMAGE_FORMAT_GIF,
} image_format;

/** Refusal thresholds, from the instance configuration. Read-only after create(). */
typedef struct image_limits {
    uint64_t max_pixels;     /* width * height */
    uint32_t max_dimension;  /* width and height each */
    size_t max_bytes;        /* encoded file size */
    uint32_t max_jpeg_scans; /* progressive JPEG scans: each one re-walks every coefficient */
} image_limits;

/** What the probe found. For GIF, width/height are the first frame's (what libgd decodes). */
typedef struct image_probe {
    image_format format;
    uint32_t width;
    uint32_t height;
} image_probe;

/** The format a declared MIME type names ("image/png; x=y" ok, case-insensitive), or UNKNOWN. */
image_format image_format_from_mime(const char *mime);

/** The format the magic bytes show, or UNKNOWN. */
image_format image_format_sniff(const uint8_t *bytes, size_t length);

/** "png", "jpeg", "gif" or "unknown": for messages. */
const char *image_format_name(image_format format);

/**
 * Checks size, magic bytes against `declared`, dimensions against `limits`, and the container
 * structure up to its end marker. Returns GW_OK and fills *probe, or GW_REJECT with a message
 * starting with a stable code ("image.too_many_pixels: ...").
 */
gw_result image_probe_inspect(const uint8_t *bytes, size_t length, image_format declared,
                              const image_limits *limits, image_probe *probe, gw_message *message);

#pragma GCC visibility pop

#endif /* THUMBNAILER_IMAGE_PROBE_H */
