/*
 * thumbnailer.c — bundled plugin "thumbnailer": PNG, JPEG and GIF thumbnails with libgd.
 *
 * Capabilities
 *   GW_CAP_THUMBNAIL             on_thumbnail: fit the image into the requested box.
 *   GW_CAP_ATTACHMENT_VALIDATION on_validate_attachment: the same checks plus a full decode,
 *                                so a corrupt image is refused at upload, not at first view.
 *
 * Decisions
 *   - Box: the host's max_width x max_height (gateway.conf [attachments] thumbnail_*, 100x100 by
 *     default; a 0 side is treated as 100). Aspect ratio is kept and images are never enlarged:
 *     a 60x40 image gets a 60x40 thumbnail (re-encoded, which also drops its metadata).
 *   - Output: JPEG for JPEG input, PNG for PNG and GIF input (transparency kept; GIF animations
 *     become their first frame).
 *   - MIME: a type this plugin does not handle (not image/png, image/jpeg, image/gif) is GW_SKIP,
 *     as the ABI says, so another plugin may handle it. A handled type whose bytes are another
 *     format, or no image at all, is GW_REJECT ("image.mime_mismatch", "image.unknown_format").
 *   - Hostile input: dimensions are read from the header bytes and checked against the limits
 *     before libgd allocates anything (image_probe.c); see thumbnailer_config.h for the limits.
 *
 * Every refusal message starts with a stable code ("image.truncated: ..."); clients see it.
 * Threading: an instance is immutable after create(), so hooks run concurrently without locks.
 */
#include "thumbnailer.h"
#include "image_probe.h"
#include "thumbnail_render.h"
#include "thumbnailer_config.h"

#include <gd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { DEFAULT_BOX_SIDE = 100 };

struct gw_instance {
    const gw_host_services *host;
    thumbnailer_config config;
};

static gw_instance *thumbnailer_create(const gw_host_services *host, const gw_host_context *context,
                                       const json_t *config, gw_message *error) {
    (void)context;
    if (host == NULL || host->alloc == NULL || host->free == NULL) {
        gw_message_set(error, "thumbnailer.host_invalid: the host services lack alloc/free");
        return NULL;
    }
    thumbnailer_config parsed;
    if (thumbnailer_config_parse(config, &parsed, error) != 0) return NULL;
    gw_instance *instance = calloc(1, sizeof *instance);
    if (instance == NULL) {
        gw_message_set(error, "thumbnailer.out_of_memory: cannot allocate the instance");
        return NULL;
    }
    instance->host = host;
    instance->config = parsed;
    return instance;
}

static void thumbnailer_destroy(gw_instance *instance) { free(instance); }

/* ABI 1.2: every refusal carries the client-facing code and status, so the host reads no text.
 * The probes write "image.<reason>: ..." (kept in the text for people); this plugin knows which
 * of its own reasons mean "not the declared type" (415) and which a bad image (422). */
static gw_result with_client_code(const gw_host_services *host, gw_result verdict, gw_message *message) {
    if (verdict != GW_REJECT || message == NULL || host == NULL || host->abi_minor < 2) return verdict;
    int mismatch = strncmp(message->text, "image.mime_mismatch", 19) == 0
        || strncmp(message->text, "image.unknown_format", 20) == 0;
    snprintf(message->code, sizeof message->code, "%s",
             mismatch ? "attachment.content_mismatch" : "attachment.bad_image");
    message->http_status = mismatch ? 415 : 422;
    return verdict;
}

static gw_result thumbnailer_on_thumbnail(gw_instance *instance, const gw_thumbnail_request *request,
                                          gw_thumbnail_result *result, gw_message *message) {
    if (request == NULL || result == NULL
        || request->struct_size < offsetof(gw_thumbnail_request, max_height) + sizeof request->max_height) {
        gw_message_set(message, "thumbnail.bad_request: the request is missing or too small for ABI 1.0");
        return GW_ERROR;
    }
    image_format declared = image_format_from_mime(request->mime);
    if (declared == IMAGE_FORMAT_UNKNOWN) {
        gw_message_set(message, "thumbnail.unsupported_mime: '%s' is not PNG, JPEG or GIF",
                       request->mime ? request->mime : "(none)");
        return GW_SKIP;
    }
    image_probe probe;
    gw_result verdict = image_probe_inspect(request->bytes, request->length, declared,
                                            &instance->config.limits, &probe, message);
    if (verdict != GW_OK) return with_client_code(instance->host, verdict, message);

    uint32_t box_width = request->max_width ? request->max_width : DEFAULT_BOX_SIDE;
    uint32_t box_height = request->max_height ? request->max_height : DEFAULT_BOX_SIDE;
    return with_client_code(instance->host,
                            thumbnail_render(request->bytes, request->length, &probe, box_width, box_height,
                                             instance->config.jpeg_quality, instance->host, result, message),
                            message);
}

static gw_result thumbnailer_on_validate_attachment(gw_instance *instance, const json_t *metadata,
                                                    const uint8_t *bytes, size_t length,
                                                    gw_message *message) {
    const char *mime = json_string_value(json_object_get(metadata, "mime"));
    image_format declared = image_format_from_mime(mime);
    if (declared == IMAGE_FORMAT_UNKNOWN) return GW_SKIP; /* not an image this plugin knows */
    image_probe probe;
    gw_result verdict = image_probe_inspect(bytes, length, declared, &instance->config.limits, &probe, message);
    if (verdict != GW_OK) return with_client_code(instance->host, verdict, message);
    return with_client_code(instance->host, thumbnail_check_decodes(bytes, length, &probe, message), message);
}

static const gw_plugin_descriptor descriptor = {
    .struct_size = sizeof(gw_plugin_descriptor),
    .abi_major = GW_PLUGIN_ABI_MAJOR,
    .abi_minor = GW_PLUGIN_ABI_MINOR,
    .name = "thumbnailer",
    .version = "1.0.0",
    .capabilities = GW_CAP_THUMBNAIL | GW_CAP_ATTACHMENT_VALIDATION,
    .build_signature = "C (" __VERSION__ "), libgd " GD_VERSION_STRING ", built " __DATE__,
    .categories = NULL,
    .create = thumbnailer_create,
    .destroy = thumbnailer_destroy,
    .on_targets = NULL,
    .on_filter = NULL,
    .on_validate_attachment = thumbnailer_on_validate_attachment,
    .on_thumbnail = thumbnailer_on_thumbnail,
};

/* libgd prints every decoder complaint about a hostile upload to stderr through a process-wide
 * handler. This plugin already turns each failure into a coded refusal that the host logs, so the
 * raw text is dropped. Installed once, from the first entry call, before any instance exists:
 * hooks never race with it. (No other part of the gateway uses libgd.) */
static void ignore_gd_message(int priority, const char *format, va_list args) {
    (void)priority;
    (void)format;
    (void)args;
}

static void silence_libgd(void) { gdSetErrorMethod(ignore_gd_message); }

GW_PLUGIN_EXPORT const gw_plugin_descriptor *gateway_plugin_entry(void) {
    static pthread_once_t silenced = PTHREAD_ONCE_INIT;
    pthread_once(&silenced, silence_libgd);
    return &descriptor;
}
