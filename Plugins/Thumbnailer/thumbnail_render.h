/*
 * thumbnail_render.h — decode (libgd), scale into a box, encode. Internal.
 *
 * Call only after image_probe_inspect() accepted the bytes: the probe is what bounds the
 * memory libgd will allocate.
 */
#ifndef THUMBNAILER_THUMBNAIL_RENDER_H
#define THUMBNAILER_THUMBNAIL_RENDER_H

#include "image_probe.h"

/* Internal to libThumbnailer.so: only gateway_plugin_entry is exported. */
#pragma GCC visibility push(hidden)

/** Fits width x height into box_width x box_height, aspect kept, never enlarged, each side >= 1. */
void thumbnail_fit(uint32_t width, uint32_t height, uint32_t box_width, uint32_t box_height,
                   uint32_t *out_width, uint32_t *out_height);

/** Decodes fully and discards: GW_OK, or GW_REJECT ("image.decode_failed: ..."). */
gw_result thumbnail_check_decodes(const uint8_t *bytes, size_t length, const image_probe *probe,
                                  gw_message *message);

/**
 * Decodes, scales into the box and encodes: PNG for PNG and GIF input (keeps transparency),
 * JPEG at `jpeg_quality` for JPEG input (photos: a PNG would be several times larger).
 * On GW_OK result->bytes comes from host->alloc. GW_REJECT when the image does not decode,
 * GW_ERROR when encoding or allocation fails.
 */
gw_result thumbnail_render(const uint8_t *bytes, size_t length, const image_probe *probe,
                           uint32_t box_width, uint32_t box_height, int jpeg_quality,
                           const gw_host_services *host, gw_thumbnail_result *result,
                           gw_message *message);

#pragma GCC visibility pop

#endif /* THUMBNAILER_THUMBNAIL_RENDER_H */
