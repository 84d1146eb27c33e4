/*
 * probe_png.c — PNG: signature, IHDR first (spec: it must be), then every chunk up to IEND.
 * CRCs are left to libpng; the walk only proves the chunks are all there.
 */
#include "probe_formats.h"

#include <string.h>

/* Chunk = length(4) + type(4) + data(length) + crc(4). */
enum { PNG_SIGNATURE_SIZE = 8, PNG_CHUNK_OVERHEAD = 12, PNG_IHDR_SIZE = 13 };
/* The spec caps chunk lengths (and dimensions) at 2^31 - 1. */
#define PNG_MAX_CHUNK_LENGTH 0x7FFFFFFFu

gw_result probe_png(const uint8_t *bytes, size_t length, const image_limits *limits,
                    image_probe *probe, gw_message *message) {
    size_t position = PNG_SIGNATURE_SIZE;
    if (length < position + PNG_CHUNK_OVERHEAD + PNG_IHDR_SIZE) {
        gw_message_set(message, "image.truncated: the PNG ends before its IHDR header (%zu bytes)", length);
        return GW_REJECT;
    }
    if (probe_read_be32(bytes + position) != PNG_IHDR_SIZE || memcmp(bytes + position + 4, "IHDR", 4) != 0) {
        gw_message_set(message, "image.corrupt: the PNG does not start with an IHDR chunk");
        return GW_REJECT;
    }
    uint32_t width = probe_read_be32(bytes + position + 8);
    uint32_t height = probe_read_be32(bytes + position + 12);
    gw_result verdict = probe_check_dimensions("PNG header", width, height, limits, message);
    if (verdict != GW_OK) return verdict;

    int saw_image_data = 0;
    while (position + PNG_CHUNK_OVERHEAD <= length) {
        uint32_t chunk_length = probe_read_be32(bytes + position);
        const uint8_t *type = bytes + position + 4;
        if (chunk_length > PNG_MAX_CHUNK_LENGTH) {
            gw_message_set(message, "image.corrupt: a PNG chunk declares %u bytes", chunk_length);
            return GW_REJECT;
        }
        if ((size_t)chunk_length > length - position - PNG_CHUNK_OVERHEAD) {
            gw_message_set(message, "image.truncated: the PNG's '%.4s' chunk needs %u bytes but the "
                           "file ends first", (const char *)type, chunk_length);
            return GW_REJECT;
        }
        if (memcmp(type, "IDAT", 4) == 0) saw_image_data = 1;
        if (memcmp(type, "IEND", 4) == 0) {
            if (!saw_image_data) {
                gw_message_set(message, "image.corrupt: the PNG has no image data (IDAT)");
                return GW_REJECT;
            }
            probe->width = width;
            probe->height = height;
            return GW_OK;
        }
        position += PNG_CHUNK_OVERHEAD + (size_t)chunk_length;
    }
    gw_message_set(message, "image.truncated: the PNG ends without its IEND chunk");
    return GW_REJECT;
}
