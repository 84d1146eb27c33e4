/*
 * thumbnailer_config.h — the instance configuration ([[plugins]] `config` table). Internal.
 *
 *   max_bytes       largest encoded image accepted              default 20971520 (20 MiB)
 *   max_pixels      largest width * height accepted             default 40000000 (40 MP)
 *   max_dimension   largest width or height accepted            default 16384
 *   max_jpeg_scans  most scans in a (progressive) JPEG          default 100
 *   jpeg_quality    quality of JPEG thumbnails, 1..100          default 85
 *
 * Memory: decoding costs about 8-10 bytes per pixel at worst (PNG: row buffer + truecolor image;
 * progressive JPEG: coefficient buffers + image), so the default max_pixels bounds one decode at
 * ~320-400 MB. Lower it on small hosts: each concurrent thumbnail on the blocking pool can use
 * that much.
 */
#ifndef THUMBNAILER_CONFIG_H
#define THUMBNAILER_CONFIG_H

#include "image_probe.h"

/* Internal to libThumbnailer.so: only gateway_plugin_entry is exported. */
#pragma GCC visibility push(hidden)

typedef struct thumbnailer_config {
    image_limits limits;
    int jpeg_quality;
} thumbnailer_config;

/** Fills *config from the JSON object (NULL means {}). 0 on success; -1 with a coded message. */
int thumbnailer_config_parse(const json_t *json, thumbnailer_config *config, gw_message *error);

#pragma GCC visibility pop

#endif /* THUMBNAILER_CONFIG_H */
