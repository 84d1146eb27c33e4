/* image_probe.c — format detection and the checks shared by every format. */
#include "image_probe.h"
#include "probe_formats.h"

#include <string.h>
#include <strings.h>

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

image_format image_format_from_mime(const char *mime) {
    if (mime == NULL) return IMAGE_FORMAT_UNKNOWN;
    /* Compare only the type/subtype: "image/png; charset=binary" is still PNG. */
    size_t essence = strcspn(mime, "; \t");
    struct { const char *name; image_format format; } const known[] = {
        {"image/png", IMAGE_FORMAT_PNG},
        {"image/jpeg", IMAGE_FORMAT_JPEG},
        {"image/jpg", IMAGE_FORMAT_JPEG}, /* not registered, but browsers and phones send it */
        {"image/pjpeg", IMAGE_FORMAT_JPEG},
        {"image/gif", IMAGE_FORMAT_GIF},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strlen(known[i].name) == essence && strncasecmp(mime, known[i].name, essence) == 0) {
            return known[i].format;
        }
    }
    return IMAGE_FORMAT_UNKNOWN;
}

image_format image_format_sniff(const uint8_t *bytes, size_t length) {
    if (bytes == NULL) return IMAGE_FORMAT_UNKNOWN;
    if (length >= 8 && memcmp(bytes, png_signature, 8) == 0) return IMAGE_FORMAT_PNG;
    if (length >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) return IMAGE_FORMAT_JPEG;
    if (length >= 6 && (memcmp(bytes, "GIF87a", 6) == 0 || memcmp(bytes, "GIF89a", 6) == 0)) {
        return IMAGE_FORMAT_GIF;
    }
    return IMAGE_FORMAT_UNKNOWN;
}

const char *image_format_name(image_format format) {
    switch (format) {
    case IMAGE_FORMAT_PNG: return "png";
    case IMAGE_FORMAT_JPEG: return "jpeg";
    case IMAGE_FORMAT_GIF: return "gif";
    default: return "unknown";
    }
}

gw_result probe_check_dimensions(const char *what, uint64_t width, uint64_t height,
                                 const image_limits *limits, gw_message *message) {
    if (width == 0 || height == 0) {
        gw_message_set(message, "image.zero_dimension: the %s declares %llux%llu pixels; "
                       "an image needs a width and a height of at least 1",
                       what, (unsigned long long)width, (unsigned long long)height);
        return GW_REJECT;
    }
    if (width > limits->max_dimension || height > limits->max_dimension) {
        gw_message_set(message, "image.too_large_dimension: the %s is %llux%llu pixels; "
                       "each side may be at most %u pixels",
                       what, (unsigned long long)width, (unsigned long long)height,
                       limits->max_dimension);
        return GW_REJECT;
    }
    /* Both factors are <= max_dimension (< 2^32), so the product fits in 64 bits. */
    if (width * height > limits->max_pixels) {
        gw_message_set(message, "image.too_many_pixels: the %s is %llux%llu = %llu pixels; "
                       "the limit is %llu pixels",
                       what, (unsigned long long)width, (unsigned long long)height,
                       (unsigned long long)(width * height), (unsigned long long)limits->max_pixels);
        return GW_REJECT;
    }
    return GW_OK;
}

gw_result image_probe_inspect(const uint8_t *bytes, size_t length, image_format declared,
                              const image_limits *limits, image_probe *probe, gw_message *message) {
    memset(probe, 0, sizeof *probe);
    if (bytes == NULL || length == 0) {
        gw_message_set(message, "image.empty: the attachment has no bytes");
        return GW_REJECT;
    }
    if (length > limits->max_bytes) {
        gw_message_set(message, "image.too_large_bytes: the image is %zu bytes; the limit is %zu bytes",
                       length, limits->max_bytes);
        return GW_REJECT;
    }
    image_format actual = image_format_sniff(bytes, length);
    if (actual == IMAGE_FORMAT_UNKNOWN) {
        gw_message_set(message, "image.unknown_format: the bytes are not a PNG, JPEG or GIF image "
                       "(declared %s)", image_format_name(declared));
        return GW_REJECT;
    }
    if (declared != IMAGE_FORMAT_UNKNOWN && actual != declared) {
        /* A mislabelled upload is refused rather than silently re-typed: the declared type is
         * what clients will trust when they render the original. */
        gw_message_set(message, "image.mime_mismatch: declared as %s but the bytes are %s",
                       image_format_name(declared), image_format_name(actual));
        return GW_REJECT;
    }
    probe->format = actual;
    switch (actual) {
    case IMAGE_FORMAT_PNG: return probe_png(bytes, length, limits, probe, message);
    case IMAGE_FORMAT_JPEG: return probe_jpeg(bytes, length, limits, probe, message);
    case IMAGE_FORMAT_GIF: return probe_gif(bytes, length, limits, probe, message);
    default: return GW_REJECT; /* unreachable: UNKNOWN returned above */
    }
}
