/*
 * thumbnail_render.c — the only file that talks to libgd.
 *
 * Why libgd is safe to call here: its PNG and JPEG readers keep their setjmp buffers on the
 * caller's stack and return NULL on a fatal libpng/libjpeg error (no abort, no global state), its
 * GIF reader keeps its LZW state per call, and the probe has already bounded the dimensions, so
 * the worst allocation is known in advance (about 8 bytes per pixel while decoding a PNG).
 * libgd's process-wide error handler is silenced once in thumbnailer.c (gateway_plugin_entry).
 */
#include "thumbnail_render.h"

#include <gd.h>
#include <string.h>

void thumbnail_fit(uint32_t width, uint32_t height, uint32_t box_width, uint32_t box_height,
                   uint32_t *out_width, uint32_t *out_height) {
    /* Never enlarge: a thumbnail bigger than its source adds bytes and no detail. */
    if (width <= box_width && height <= box_height) {
        *out_width = width;
        *out_height = height;
        return;
    }
    uint64_t w = width, h = height;
    uint64_t fitted_width, fitted_height;
    if (w * box_height >= h * box_width) { /* width is the tighter side */
        fitted_width = box_width;
        fitted_height = (h * box_width + w / 2) / w;
    } else {
        fitted_height = box_height;
        fitted_width = (w * box_height + h / 2) / h;
    }
    *out_width = fitted_width ? (uint32_t)fitted_width : 1;
    *out_height = fitted_height ? (uint32_t)fitted_height : 1;
}

static gdImagePtr decode(const uint8_t *bytes, size_t length, const image_probe *probe) {
    /* libgd takes a non-const pointer but only reads through a context created without free. */
    void *data = (void *)bytes;
    int size = (int)length; /* create() caps max_bytes at INT_MAX */
    switch (probe->format) {
    case IMAGE_FORMAT_PNG: return gdImageCreateFromPngPtr(size, data);
    case IMAGE_FORMAT_JPEG: return gdImageCreateFromJpegPtrEx(size, data, 1 /* ignore warnings */);
    case IMAGE_FORMAT_GIF: return gdImageCreateFromGifPtr(size, data);
    default: return NULL;
    }
}

static gdImagePtr decode_checked(const uint8_t *bytes, size_t length, const image_probe *probe,
                                 gw_message *message) {
    gdImagePtr image = decode(bytes, length, probe);
    if (image == NULL) {
        gw_message_set(message, "image.decode_failed: the %s image could not be decoded",
                       image_format_name(probe->format));
        return NULL;
    }
    /* The probe's limits only bound memory if the decoder agrees with the header we read. */
    if ((uint32_t)gdImageSX(image) != probe->width || (uint32_t)gdImageSY(image) != probe->height) {
        gw_message_set(message, "image.corrupt: the %s header says %ux%u but it decodes as %dx%d",
                       image_format_name(probe->format), probe->width, probe->height,
                       gdImageSX(image), gdImageSY(image));
        gdImageDestroy(image);
        return NULL;
    }
    return image;
}

gw_result thumbnail_check_decodes(const uint8_t *bytes, size_t length, const image_probe *probe,
                                  gw_message *message) {
    gdImagePtr image = decode_checked(bytes, length, probe, message);
    if (image == NULL) return GW_REJECT;
    gdImageDestroy(image);
    return GW_OK;
}

static gdImagePtr scale(gdImagePtr source, uint32_t width, uint32_t height) {
    gdImagePtr target = gdImageCreateTrueColor((int)width, (int)height);
    if (target == NULL) return NULL;
    /* Copy alpha as is (no blending onto black) so transparent PNG/GIF stay transparent. */
    gdImageAlphaBlending(target, 0);
    gdImageSaveAlpha(target, 1);
    gdImageFilledRectangle(target, 0, 0, (int)width - 1, (int)height - 1, gdTrueColorAlpha(0, 0, 0, gdAlphaTransparent));
    gdImageCopyResampled(target, source, 0, 0, 0, 0, (int)width, (int)height,
                         gdImageSX(source), gdImageSY(source));
    return target;
}

gw_result thumbnail_render(const uint8_t *bytes, size_t length, const image_probe *probe,
                           uint32_t box_width, uint32_t box_height, int jpeg_quality,
                           const gw_host_services *host, gw_thumbnail_result *result,
                           gw_message *message) {
    gdImagePtr source = decode_checked(bytes, length, probe, message);
    if (source == NULL) return GW_REJECT;

    uint32_t width, height;
    thumbnail_fit(probe->width, probe->height, box_width, box_height, &width, &height);
    gdImagePtr thumbnail = scale(source, width, height);
    gdImageDestroy(source);
    if (thumbnail == NULL) {
        gw_message_set(message, "thumbnail.out_of_memory: could not allocate a %ux%u thumbnail", width, height);
        return GW_ERROR;
    }

    int encoded_size = 0;
    int as_jpeg = probe->format == IMAGE_FORMAT_JPEG;
    void *encoded = as_jpeg ? gdImageJpegPtr(thumbnail, &encoded_size, jpeg_quality)
                            : gdImagePngPtr(thumbnail, &encoded_size);
    gdImageDestroy(thumbnail);
    if (encoded == NULL || encoded_size <= 0) {
        gdFree(encoded);
        gw_message_set(message, "thumbnail.encode_failed: libgd could not encode the %ux%u thumbnail as %s",
                       width, height, as_jpeg ? "JPEG" : "PNG");
        return GW_ERROR;
    }

    /* The host frees what it owns with its own allocator, so copy out of libgd's buffer. */
    uint8_t *owned = host->alloc((size_t)encoded_size);
    if (owned == NULL) {
        gdFree(encoded);
        gw_message_set(message, "thumbnail.out_of_memory: host->alloc(%d) failed", encoded_size);
        return GW_ERROR;
    }
    memcpy(owned, encoded, (size_t)encoded_size);
    gdFree(encoded);

    result->bytes = owned;
    result->length = (size_t)encoded_size;
    snprintf(result->mime, sizeof result->mime, "%s", as_jpeg ? "image/jpeg" : "image/png");
    result->width = width;
    result->height = height;
    return GW_OK;
}
