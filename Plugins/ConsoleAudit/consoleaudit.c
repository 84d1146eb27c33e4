/*
 * consoleaudit.c — bundled plugin "console-audit": one line per routed event, for development.
 *
 * The gateway's version of django-notifs' "console" provider, which just prints each
 * notification payload. It is also the reference C plugin: a plugin author can copy this file,
 * rename the descriptor and replace the hook. Everything a plugin needs is here: the descriptor,
 * strict config parsing in create(), per-instance state, a hook that follows the ownership and
 * threading rules of gateway_plugin.h.
 *
 * Why a category-targets hook that always returns GW_SKIP (and not a recipient filter):
 *   - on_targets runs ONCE per event, on_filter once per recipient. Logging once from a filter
 *     would need a shared "already logged" set of event ids (locks or atomics, eviction, events
 *     without ids); the targets hook needs no shared mutable state at all.
 *   - GW_SKIP means "no opinion": the host asks every targets plugin that handles the category and
 *     unions the answers, skipping this one, so auditing never changes who receives the event and
 *     its place in the chain does not matter. The hook never returns GW_ERROR, because on_targets
 *     errors make the host deliver to no computed targets; a failed write is not worth that.
 *   - categories = {"*"}: every event reaches it, including events whose category no other
 *     plugin handles.
 *
 * It is also a MESSENGER (ABI 1.2, django-notifs' console provider for offline delivery): with
 * its entry name as the alias in a fallback's `via`, each offline delivery is printed as one
 * line "console-audit send to=<address> delivery=<id> ..." instead of being mailed.
 *
 * Config ([[plugins]] config table):
 *   output = "stdout" (default) | "stderr" | "log" (the gateway's logger, level info)
 *          | a file path containing a '/' ("/var/log/gateway-audit.log", "./audit.log"):
 *            opened for appending in create()
 *   format = "line" (default): console-audit event id=7 category=chat action=message source=alice ...
 *          | "json": the event itself, compact, one JSON document per line (JSON Lines)
 *
 * Threading: on_targets runs on several event loops at once. The instance is read-only after
 * create(); each line is built in a private buffer and written with one locked stdio call, so
 * lines from concurrent events never interleave.
 */
#include "consoleaudit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef enum audit_output { OUTPUT_STDOUT, OUTPUT_STDERR, OUTPUT_LOG, OUTPUT_FILE } audit_output;
typedef enum audit_format { FORMAT_LINE, FORMAT_JSON } audit_format;

struct gw_instance {
    const gw_host_services *host;
    const gw_host_context *context;
    audit_output output;
    audit_format format;
    FILE *file; /* OUTPUT_FILE only; owned, closed in destroy() */
};

/* The event fields a line shows, in pyams_chat's order of importance. */
static const char *const line_fields[] = {"id", "category", "action", "status", "source", "host", "title", NULL};

/* ------------------------------------------------------------------------------------------ */
/* Configuration                                                                               */
/* ------------------------------------------------------------------------------------------ */

/* Reads the optional "format" key; FORMAT_LINE when absent, -1 with *error set when invalid. */
static int read_format(const json_t *config, gw_message *error) {
    const json_t *value = json_object_get(config, "format");
    if (value == NULL) return FORMAT_LINE;
    const char *text = json_string_value(value);
    if (text != NULL && strcmp(text, "line") == 0) return FORMAT_LINE;
    if (text != NULL && strcmp(text, "json") == 0) return FORMAT_JSON;
    gw_message_set(error, "console_audit.config_invalid_value: 'format' must be \"line\" or \"json\"");
    return -1;
}

/* Reads the optional "output" key. A file path must contain a '/', so a typo such as "stdot"
 * is an error instead of a file quietly created in the working directory. */
static int read_output(const json_t *config, const char **path, gw_message *error) {
    *path = NULL;
    const json_t *value = json_object_get(config, "output");
    if (value == NULL) return OUTPUT_STDOUT;
    const char *text = json_string_value(value);
    if (text != NULL && strcmp(text, "stdout") == 0) return OUTPUT_STDOUT;
    if (text != NULL && strcmp(text, "stderr") == 0) return OUTPUT_STDERR;
    if (text != NULL && strcmp(text, "log") == 0) return OUTPUT_LOG;
    if (text != NULL && strchr(text, '/') != NULL) {
        *path = text;
        return OUTPUT_FILE;
    }
    gw_message_set(error, "console_audit.config_invalid_value: 'output' must be \"stdout\", \"stderr\", "
                   "\"log\" or a file path containing a '/' (\"./audit.log\")");
    return -1;
}

static int check_known_keys(const json_t *config, gw_message *error) {
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)config, key, value) { /* the macro wants non-const; it only reads */
        (void)value;
        if (strcmp(key, "output") != 0 && strcmp(key, "format") != 0) {
            gw_message_set(error, "console_audit.config_unknown_key: unknown key '%s' (known: output, format)", key);
            return -1;
        }
    }
    return 0;
}

static gw_instance *audit_create(const gw_host_services *host, const gw_host_context *context,
                                 const json_t *config, gw_message *error) {
    if (config != NULL && !json_is_object(config)) {
        gw_message_set(error, "console_audit.config_invalid: the config must be a table (JSON object)");
        return NULL;
    }
    const char *path = NULL;
    int output = OUTPUT_STDOUT, format = FORMAT_LINE;
    if (config != NULL) {
        if (check_known_keys(config, error) != 0) return NULL;
        if ((output = read_output(config, &path, error)) < 0) return NULL;
        if ((format = read_format(config, error)) < 0) return NULL;
    }

    gw_instance *instance = calloc(1, sizeof *instance);
    if (instance == NULL) {
        gw_message_set(error, "console_audit.out_of_memory: cannot allocate the instance");
        return NULL;
    }
    instance->host = host;
    instance->context = context;
    instance->output = (audit_output)output;
    instance->format = (audit_format)format;
    if (path != NULL) {
        instance->file = fopen(path, "a");
        if (instance->file == NULL) {
            gw_message_set(error, "console_audit.file_open_failed: cannot open '%s' for appending: %s",
                           path, strerror(errno));
            free(instance);
            return NULL;
        }
    }
    return instance;
}

static void audit_destroy(gw_instance *instance) {
    if (instance->file != NULL) fclose(instance->file);
    free(instance);
}

/* ------------------------------------------------------------------------------------------ */
/* The hook                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* A value as one token: plain strings as they are; strings with spaces, quotes, '=' or control
 * characters, and non-strings, as compact JSON. A newline in an event can never start a
 * forged log line. */
static void write_value(FILE *line, const json_t *value) {
    if (json_is_object(value) && json_is_string(json_object_get(value, "id"))) {
        value = json_object_get(value, "id"); /* pyams_chat sources are {"id", "title", ...} */
    }
    const char *text = json_string_value(value);
    int plain = text != NULL && text[0] != '\0';
    for (const unsigned char *c = (const unsigned char *)text; plain && *c; c++) {
        if (*c <= ' ' || *c == '"' || *c == '=' || *c == '\\' || *c == 0x7F) plain = 0;
    }
    if (plain) {
        fputs(text, line);
        return;
    }
    char *encoded = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    fputs(encoded ? encoded : "?", line);
    free(encoded);
}

/* Builds the text of one event without its newline; malloc'd, NULL when out of memory. */
static char *render_event(const gw_instance *instance, const json_t *event) {
    if (instance->format == FORMAT_JSON) {
        return json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    }
    char *text = NULL;
    size_t size = 0;
    FILE *line = open_memstream(&text, &size);
    if (line == NULL) return NULL;
    fputs("console-audit event", line);
    for (int i = 0; line_fields[i] != NULL; i++) {
        const json_t *value = json_object_get(event, line_fields[i]);
        if (value == NULL) continue;
        fprintf(line, " %s=", line_fields[i]);
        write_value(line, value);
    }
    if (fclose(line) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

static void emit(const gw_instance *instance, const char *text) {
    FILE *stream = instance->output == OUTPUT_STDERR ? stderr
                 : instance->output == OUTPUT_FILE   ? instance->file
                                                     : stdout;
    if (instance->output == OUTPUT_LOG) {
        instance->host->log(instance->context, GW_LOG_INFO, text);
        return;
    }
    /* One lock for text + newline + flush: concurrent lines stay whole and appear at once. */
    flockfile(stream);
    fputs(text, stream);
    putc_unlocked('\n', stream);
    fflush(stream);
    funlockfile(stream);
}

static gw_result audit_on_targets(gw_instance *instance, const json_t *event, json_t **targets_out,
                                  gw_message *error) {
    (void)targets_out; /* untouched: GW_SKIP hands nothing back */
    (void)error;
    char *text = render_event(instance, event);
    emit(instance, text ? text : "console-audit event (could not be rendered: out of memory)");
    free(text);
    return GW_SKIP;
}

/* ABI 1.2 messenger: print the delivery instead of sending it. Blocking pool; same locking. */
static gw_result audit_on_send(gw_instance *instance, const gw_delivery *delivery, gw_message *message) {
    if (delivery == NULL || delivery->address == NULL) {
        gw_message_refuse(instance->host, message, "console_audit.bad_delivery", 0, "on_send without a delivery");
        return GW_ERROR;
    }
    char *event = render_event(instance, delivery->event);
    char *text = NULL;
    size_t size = 0;
    FILE *line = open_memstream(&text, &size);
    if (line == NULL) {
        free(event);
        return GW_RETRY;
    }
    fputs("console-audit send to=", line);
    json_t *address = json_string(delivery->address);
    write_value(line, address);
    json_decref(address);
    fprintf(line, " attempt=%u delivery=", (unsigned)delivery->attempt);
    json_t *id = json_string(delivery->delivery_id ? delivery->delivery_id : "");
    write_value(line, id);
    json_decref(id);
    fprintf(line, " %s", event ? event : "(event could not be rendered)");
    free(event);
    if (fclose(line) != 0) {
        free(text);
        return GW_RETRY;
    }
    emit(instance, text);
    free(text);
    return GW_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* The descriptor: static, as the ABI requires                                                 */
/* ------------------------------------------------------------------------------------------ */

static const char *const every_category[] = {"*", NULL};

static const gw_plugin_descriptor descriptor = {
    .struct_size = sizeof(gw_plugin_descriptor),
    .abi_major = GW_PLUGIN_ABI_MAJOR,
    .abi_minor = GW_PLUGIN_ABI_MINOR,
    .name = "console-audit",
    .version = "1.0.0",
    .capabilities = GW_CAP_CATEGORY_TARGETS | GW_CAP_MESSENGER,
    .build_signature = "C (" __VERSION__ "), built " __DATE__,
    .categories = every_category,
    .create = audit_create,
    .destroy = audit_destroy,
    .on_targets = audit_on_targets,
    .on_filter = NULL,
    .on_validate_attachment = NULL,
    .on_thumbnail = NULL,
    .on_filter_event = NULL,
    .on_send = audit_on_send,
    .on_send_test = NULL, /* the host tests through on_send with a synthetic event */
};

GW_PLUGIN_EXPORT const gw_plugin_descriptor *gateway_plugin_entry(void) { return &descriptor; }
