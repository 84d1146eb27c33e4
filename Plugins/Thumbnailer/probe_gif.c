/*
 * probe_gif.c — GIF: logical screen, then extension and image blocks up to the trailer (0x3B).
 *
 * Every frame is checked against the limits (libgd decodes only the first, but a later frame
 * declaring 65535x65535 is still a hostile file) and must lie inside the logical screen, as
 * libgd requires.
 */
#include "probe_formats.h"

enum {
    GIF_HEADER_SIZE = 13, GIF_IMAGE_DESCRIPTOR_SIZE = 10,
    GIF_EXTENSION = 0x21, GIF_IMAGE = 0x2C, GIF_TRAILER = 0x3B,
    GIF_HAS_COLOR_TABLE = 0x80, GIF_MAX_LZW_CODE_SIZE = 12,
};

static size_t color_table_size(uint8_t flags) {
    return (flags & GIF_HAS_COLOR_TABLE) ? 3u * (1u << ((flags & 0x07) + 1)) : 0;
}

/* Skips a chain of data sub-blocks (size byte + data, until a 0 size). 0 when truncated. */
static size_t skip_sub_blocks(const uint8_t *bytes, size_t length, size_t position) {
    while (position < length) {
        uint8_t size = bytes[position];
        position += 1 + (size_t)size;
        if (size == 0) return position;
    }
    return 0;
}

static gw_result truncated(gw_message *message, const char *where) {
    gw_message_set(message, "image.truncated: the GIF ends inside %s", where);
    return GW_REJECT;
}

gw_result probe_gif(const uint8_t *bytes, size_t length, const image_limits *limits,
                    image_probe *probe, gw_message *message) {
    if (length < GIF_HEADER_SIZE) return truncated(message, "its header");
    uint16_t screen_width = probe_read_le16(bytes + 6);
    uint16_t screen_height = probe_read_le16(bytes + 8);
    gw_result verdict = probe_check_dimensions("GIF screen", screen_width, screen_height, limits, message);
    if (verdict != GW_OK) return verdict;

    size_t position = GIF_HEADER_SIZE + color_table_size(bytes[10]);
    uint32_t frames = 0;
    while (position < length) {
        uint8_t block = bytes[position++];
        if (block == GIF_TRAILER) {
            if (frames == 0) {
                gw_message_set(message, "image.corrupt: the GIF has no image");
                return GW_REJECT;
            }
            return GW_OK;
        }
        if (block == GIF_EXTENSION) {
            if (position >= length) break;
            position = skip_sub_blocks(bytes, length, position + 1); /* after the label */
            if (position == 0) return truncated(message, "an extension block");
            continue;
        }
        if (block != GIF_IMAGE) {
            gw_message_set(message, "image.corrupt: unexpected GIF block 0x%02X at byte %zu", block, position - 1);
            return GW_REJECT;
        }
        if (length - position < GIF_IMAGE_DESCRIPTOR_SIZE - 1) return truncated(message, "an image descriptor");
        uint32_t left = probe_read_le16(bytes + position);
        uint32_t top = probe_read_le16(bytes + position + 2);
        uint16_t width = probe_read_le16(bytes + position + 4);
        uint16_t height = probe_read_le16(bytes + position + 6);
        uint8_t flags = bytes[position + 8];
        verdict = probe_check_dimensions("GIF frame", width, height, limits, message);
        if (verdict != GW_OK) return verdict;
        if (left + width > screen_width || top + height > screen_height) {
            gw_message_set(message, "image.corrupt: a GIF frame (%ux%u at %u,%u) lies outside the %ux%u screen",
                           width, height, left, top, screen_width, screen_height);
            return GW_REJECT;
        }
        if (frames++ == 0) {
            probe->width = width;
            probe->height = height;
        }
        position += GIF_IMAGE_DESCRIPTOR_SIZE - 1 + color_table_size(flags);
        if (position >= length) return truncated(message, "a frame");
        uint8_t code_size = bytes[position++];
        if (code_size == 0 || code_size >= GIF_MAX_LZW_CODE_SIZE) {
            gw_message_set(message, "image.corrupt: a GIF frame declares LZW code size %u", code_size);
            return GW_REJECT;
        }
        position = skip_sub_blocks(bytes, length, position);
        if (position == 0) return truncated(message, "a frame's image data");
    }
    return truncated(message, "its block list (no trailer)");
}
