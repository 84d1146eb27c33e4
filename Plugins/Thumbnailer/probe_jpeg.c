/*
 * probe_jpeg.c — JPEG: walks the marker segments from SOI to EOI.
 *
 * The frame size comes from the SOFn segment. Entropy-coded data after each SOS is skipped by
 * looking for the next real marker (0xFF followed by neither 0x00 stuffing nor RSTn). Counting
 * SOS segments bounds progressive JPEGs, whose decode cost grows with every extra scan.
 * Without an EOI the file is truncated: libjpeg would pad it with grey and call it a success.
 */
#include "probe_formats.h"

enum {
    JPEG_SOI = 0xD8, JPEG_EOI = 0xD9, JPEG_SOS = 0xDA, JPEG_TEM = 0x01,
    JPEG_RST0 = 0xD0, JPEG_RST7 = 0xD7,
    JPEG_DHT = 0xC4, JPEG_JPG = 0xC8, JPEG_DAC = 0xCC,
};

static int is_start_of_frame(uint8_t marker) {
    return marker >= 0xC0 && marker <= 0xCF && marker != JPEG_DHT && marker != JPEG_JPG && marker != JPEG_DAC;
}

/* Index of the 0xFF that starts the next marker after entropy-coded data, or `length`. */
static size_t skip_entropy_coded_data(const uint8_t *bytes, size_t length, size_t position) {
    while (position + 1 < length) {
        if (bytes[position] != 0xFF) { position++; continue; }
        uint8_t next = bytes[position + 1];
        if (next == 0x00 || (next >= JPEG_RST0 && next <= JPEG_RST7)) { position += 2; continue; }
        if (next == 0xFF) { position++; continue; } /* fill byte before a marker */
        return position;
    }
    return length;
}

gw_result probe_jpeg(const uint8_t *bytes, size_t length, const image_limits *limits,
                     image_probe *probe, gw_message *message) {
    size_t position = 2; /* after SOI */
    int saw_frame = 0;
    uint32_t scans = 0;
    while (position < length) {
        if (bytes[position] != 0xFF) {
            gw_message_set(message, "image.corrupt: the JPEG has no marker at byte %zu", position);
            return GW_REJECT;
        }
        while (position < length && bytes[position] == 0xFF) position++; /* fill bytes */
        if (position >= length) break;
        uint8_t marker = bytes[position++];

        if (marker == JPEG_EOI) {
            if (!saw_frame || scans == 0) {
                gw_message_set(message, "image.corrupt: the JPEG ends before any %s",
                               saw_frame ? "scan (SOS)" : "frame header (SOFn)");
                return GW_REJECT;
            }
            return GW_OK;
        }
        if (marker == JPEG_SOI || marker == 0x00) {
            gw_message_set(message, "image.corrupt: unexpected JPEG marker 0x%02X at byte %zu", marker, position - 1);
            return GW_REJECT;
        }
        if (marker == JPEG_TEM || (marker >= JPEG_RST0 && marker <= JPEG_RST7)) continue; /* no payload */

        if (length - position < 2) break;
        size_t segment_length = probe_read_be16(bytes + position);
        if (segment_length < 2) {
            gw_message_set(message, "image.corrupt: JPEG segment 0x%02X declares %zu bytes", marker, segment_length);
            return GW_REJECT;
        }
        if (segment_length > length - position) {
            gw_message_set(message, "image.truncated: the JPEG's segment 0x%02X needs %zu bytes but the "
                           "file ends first", marker, segment_length);
            return GW_REJECT;
        }
        const uint8_t *segment = bytes + position + 2;

        if (is_start_of_frame(marker)) {
            if (saw_frame) {
                gw_message_set(message, "image.corrupt: the JPEG has more than one frame header");
                return GW_REJECT;
            }
            if (segment_length < 8) {
                gw_message_set(message, "image.corrupt: the JPEG frame header is %zu bytes", segment_length);
                return GW_REJECT;
            }
            uint16_t height = probe_read_be16(segment + 1);
            uint16_t width = probe_read_be16(segment + 3);
            gw_result verdict = probe_check_dimensions("JPEG frame", width, height, limits, message);
            if (verdict != GW_OK) return verdict;
            probe->width = width;
            probe->height = height;
            saw_frame = 1;
        }
        position += segment_length;

        if (marker == JPEG_SOS) {
            if (!saw_frame) {
                gw_message_set(message, "image.corrupt: the JPEG has a scan before its frame header");
                return GW_REJECT;
            }
            if (++scans > limits->max_jpeg_scans) {
                gw_message_set(message, "image.too_many_scans: the JPEG has more than %u scans",
                               limits->max_jpeg_scans);
                return GW_REJECT;
            }
            position = skip_entropy_coded_data(bytes, length, position);
        }
    }
    gw_message_set(message, "image.truncated: the JPEG ends without its end-of-image marker");
    return GW_REJECT;
}
