/*
 * gateway_plugin.h — Chat Gateway plugin ABI, version 1.4.
 *
 * This header is the whole contract between the gateway (the "host") and a handler plugin.
 * With this file and jansson (<jansson.h>, Debian: libjansson-dev) you can write a plugin in C;
 * the Swift SDK (module GatewayPlugin) is a thin layer over exactly these declarations.
 *
 * ---------------------------------------------------------------------------------------------
 * How a plugin is loaded
 * ---------------------------------------------------------------------------------------------
 *  1. The host opens the shared object with dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE).
 *     It never dlclose()s a plugin: Swift images must stay mapped for the life of the process.
 *  2. It looks up ONE symbol, GW_PLUGIN_ENTRY_SYMBOL ("gateway_plugin_entry"), of type
 *     gw_plugin_entry_fn, calls it once, and reads the returned descriptor.
 *     It loads a PRIVATE COPY of the file (copied to a temporary path, then dlopen()ed, then the
 *     copy is unlinked): so a plugin rebuilt at the same path is a new image on the next load.
 *  3. It refuses the plugin (with a message naming the file) when:
 *       - descriptor->abi_major != GW_PLUGIN_ABI_MAJOR (both versions are named),
 *       - descriptor->struct_size < GW_PLUGIN_DESCRIPTOR_V1_0_SIZE,
 *       - name, version, create or destroy is NULL,
 *       - a capability bit is set but its hook pointer is NULL,
 *       - create() returns NULL (the plugin's error text is included),
 *       - build_signature says "GatewayPlugin Swift SDK" and names a Swift toolchain other than
 *         the gateway's ("swift-6.3.1"): two Swift runtimes' metadata must not meet in one
 *         process; rebuild the plugin with the gateway's toolchain. C plugins are not checked.
 *  4. For each [[plugins]] entry in gateway.conf, the host calls create() with that entry's
 *     `config` table converted to a JSON object. One shared object may back several instances.
 *
 * ---------------------------------------------------------------------------------------------
 * Versioning
 * ---------------------------------------------------------------------------------------------
 *  - Major: incompatible change; the host refuses a plugin of another major.
 *  - Minor: only appends fields at the END of a struct (descriptor, host services, requests).
 *    Every such struct starts with `struct_size`; a reader checks struct_size before reading a
 *    field added in a later minor, and treats a field beyond struct_size as NULL / 0.
 *    A plugin built against minor N runs on a host of minor M >= N and, for fields it does not
 *    read, on M < N as well.
 *  - 1.1 added gw_plugin_descriptor.on_filter_event (optional).
 *  - 1.2 added the messenger capability (on_send, optional on_send_test), GW_RETRY, and a stable
 *    code + HTTP status in gw_message (gw_message_refuse()).
 *  - 1.3 added the publish-guard capability (on_publish, GW_REWRITE, publish_guard_flags), the
 *    responder capability (on_routed), the query capability (on_query: GET endpoints under
 *    /api/v1/plugins/<entry>/) and two host services: publish() (a plugin publishes events
 *    itself, asynchronously) and set_member_state() (a room member's state).
 *  - 1.4 added the host service config_directory(): the folder of the gateway.conf that named
 *    the instance, so a plugin resolves the relative paths of its config (schema files, stores)
 *    where the operator wrote them, whatever the gateway's working directory.
 *
 * ---------------------------------------------------------------------------------------------
 * Reloading (SIGHUP)
 * ---------------------------------------------------------------------------------------------
 *  SIGHUP re-reads gateway.conf's [[plugins]] entries and builds a NEW chain: every instance is
 *  created again (create() with the new config); the old chain's instances get destroy() once
 *  the events holding them have finished. A shared object whose file changed (inode, size or
 *  mtime) since it was loaded is loaded again from a fresh private copy: the new code serves
 *  the new instances. The old image is never dlclose()d (it stays mapped; each rebuild costs
 *  one image's memory until the process exits). If any entry fails to load, the running chain
 *  is kept unchanged and every error is logged. Other sections of gateway.conf (listen address,
 *  auth, history) are NOT reloaded: restart for those.
 *
 * ---------------------------------------------------------------------------------------------
 * What an event looks like (the `event` every hook receives)
 * ---------------------------------------------------------------------------------------------
 *  A JSON object, already normalized by the host (pyams_chat's message model):
 *    "id"          integer, assigned by the gateway (absent in on_targets of a not-yet-stored event)
 *    "category"    string, always present ("chat.message", "user.login", ...)
 *    "action"      string, default "notify"          "status"  string, default "info"
 *    "source"      object {"id": ..., "title": ...}: the authenticated publisher (events from
 *                  Redis keep theirs)
 *    "host"        string: the publisher's Origin or [server] default_host
 *    "timestamp"   ISO 8601 string
 *    "title", "message", "url"  strings, optional
 *    "target"      object {"principals": [...]}: explicit targets, or the union computed by the
 *                  category-targets plugins
 *    "attachments" array of attachment objects, optional     "data"  any object, optional
 *  Unknown fields are refused at ingress, so a plugin never sees a field not listed here.
 *
 * ---------------------------------------------------------------------------------------------
 * How results combine
 * ---------------------------------------------------------------------------------------------
 *  - Targets: an event that arrives WITH "target" skips on_targets entirely. Otherwise every
 *    category-targets instance whose `categories` match is asked, and the principals of all
 *    that answer GW_OK are UNIONED (duplicates removed). No principal at all: the publish is
 *    refused (HTTP 422 event.no_targets).
 *  - Recipients: a recipient is one connection's user. Its "principals" array ALWAYS includes
 *    its own "id" (plus its groups/roles from the token). An event reaches a recipient when the
 *    event's target principals and the recipient's principals intersect, and never reaches
 *    the sender's own connections.
 *  - Filters run in chain order per recipient; the first GW_DROP stops; a GW_REDACT replaces
 *    the event for the filters after it.
 *  - Attachments: validators run in chain order; the first GW_REJECT or GW_ERROR decides. The
 *    upload is accepted only if at least one validator said GW_OK: when EVERY validator skips
 *    (or none is configured) the upload is REFUSED (415 attachment.unsupported_type).
 *  - Thumbnails: the first thumbnail plugin that does not skip makes it.
 *  - Publish guards (1.3): run in chain order on every event a CLIENT publishes (HTTP, WebSocket,
 *    the admin console's test event), after its targets are known and before it is recorded or
 *    delivered; never on events from the Redis channel or from host->publish(). GW_SKIP: no
 *    opinion. GW_OK: accepted. GW_REWRITE: accepted, route *rewritten_out instead (the host
 *    keeps the original id, source, host, target and timestamp). GW_REJECT: refused; the client
 *    gets the plugin's code (default "event.refused") and status (400..499, default 403); later
 *    guards are not asked. GW_ERROR: refused with 500 "event.guard_failed" (fails closed).
 *    After the plugin guards the host applies the room member states, the same way: a member
 *    whose state is "closed" (or who lacks the write permission) is refused with 403
 *    "room.write_forbidden"; a "scripted" member is refused with 403 "room.member_scripted"
 *    UNLESS a guard answered GW_OK or GW_REWRITE for the event — a guard that accepts says "this
 *    is a valid answer to the member's current question" (a scripted flow). So a guard that only
 *    refuses (moderation, spam limits) must answer GW_SKIP, not GW_OK, for what it lets through.
 *  - Responders (1.3): on_routed is called for every event that was recorded and delivered,
 *    except those a plugin published itself with host->publish() (no bot ping-pong).
 *  - Messengers: each [[plugins]] entry with the messenger capability is a messenger whose
 *    ALIAS is the entry's `name` ("smtp"); events reach it through offline delivery (fallback,
 *    default policies) and `gateway messenger test ALIAS ADDRESS`.
 *
 * ---------------------------------------------------------------------------------------------
 * How a refusal reaches the client
 * ---------------------------------------------------------------------------------------------
 *  GW_REJECT from on_validate_attachment or on_thumbnail becomes an HTTP error
 *  {"error": {"code": C, "message": M}} with status S:
 *    - ABI 1.2: the plugin sets C and S with gw_message_refuse() (code[], http_status). S must
 *      be 400..499 (anything else is read as the stage's default). Use the documented
 *      "attachment.*" codes (docs/attachments.md) so clients can branch on them.
 *    - no code (a 1.0/1.1 plugin, or gw_message_set() only): validation → 415
 *      attachment.unsupported_type, thumbnail → 422 attachment.bad_image; and the host's own
 *      content sniffing turns a refusal of bytes that contradict the declared MIME type into
 *      415 attachment.content_mismatch.
 *    M is the plugin's text. GW_ERROR is always 500 attachment.plugin_failed.
 *
 * ---------------------------------------------------------------------------------------------
 * Ownership rules (apply to every call unless the call says otherwise)
 * ---------------------------------------------------------------------------------------------
 *  - `const json_t *` arguments are BORROWED: valid until the hook returns, READ-ONLY. The same
 *    json_t may be read concurrently by other threads (jansson is thread-safe for reads and for
 *    reference counts only), so never modify it; json_incref() it if you must keep it longer.
 *  - `json_t **..._out` results are NEW REFERENCES handed to the host: the host calls
 *    json_decref() on them. Create a fresh value (json_deep_copy() a borrowed one if needed);
 *    never hand back a borrowed value without json_incref().
 *  - Byte buffers returned to the host (thumbnail bytes) are allocated with host->alloc() and
 *    become the host's on GW_OK; on any other result the plugin frees what it allocated.
 *  - Text messages go into a caller-provided gw_message (fixed capacity, always NUL-terminated
 *    by the writer; gw_message_set() below does it). Nothing to free.
 *  - The descriptor returned by the entry function and every string it points to are static:
 *    they must live as long as the process.
 *
 * ---------------------------------------------------------------------------------------------
 * Threading
 * ---------------------------------------------------------------------------------------------
 *  - The entry function, create() and destroy() run on the host's control thread (start-up and
 *    reload), one at a time. destroy() is called only after every hook call on that instance
 *    has returned; no hook is called on an instance after destroy().
 *  - on_targets, on_filter_event and on_filter run on the gateway's worker threads, possibly
 *    CONCURRENTLY on several threads for the same instance: usually an event loop (an event
 *    published over HTTP or WebSocket, live delivery, replay of missed events); a thread of
 *    the blocking-work pool when the same event first needed blocking work (it carries
 *    attachments or rooms, or the engine waits on the network) and for GET
 *    /api/v1/notifications. The chat:main ingress hands each message to an event loop first.
 *    One exception: with `[engine] kind = "redis"`, on_filter_event runs once per event on the
 *    engine's subscription thread (the one thread that receives every node's events), before
 *    the event is handed to the event loops, where on_filter then runs.
 *    They must be fast and must not block (no I/O, no sleeping, no locks held for long): a
 *    slow filter slows every connection on that loop (a slow on_filter_event, every delivery
 *    of the node).
 *  - on_validate_attachment, on_thumbnail, on_send and on_send_test run on a blocking-work
 *    thread pool, never on an
 *    event loop, possibly concurrently for the same instance. They may be slow (decoding an
 *    image), but must bound their own time and memory on hostile input.
 *  - on_publish (1.3) runs where the event's publish runs: an event loop when nothing on the
 *    way blocks — then it must not block — unless the descriptor sets GW_GUARD_MAY_BLOCK in
 *    publish_guard_flags: then every client publish runs on the blocking-work pool while this
 *    plugin is in the chain, and on_publish may read a database (bounded). Concurrently.
 *  - on_routed (1.3) runs on the blocking-work pool, NEVER an event loop, after the event was
 *    delivered; concurrently. It may be slow (bounded): it delays nobody's delivery.
 *  - on_query (1.3) runs on the blocking-work pool, concurrently; it may read a database.
 *  - host services (gw_host_services) may be called from any thread at any time while the
 *    process runs, except where a service says otherwise (set_member_state blocks: never call
 *    it from a hook that runs on an event loop).
 *
 * ---------------------------------------------------------------------------------------------
 * Result codes (gw_result)
 * ---------------------------------------------------------------------------------------------
 *  GW_OK       the hook did its job; *_out values are set as the hook describes.
 *  GW_SKIP     "no opinion": this instance does not handle this input (another category,
 *              another MIME type). The host moves on to the next plugin in the chain.
 *  GW_REJECT   the input is refused for a reason the CLIENT should see (attachment not accepted,
 *              corrupt image). Write that reason into *message.
 *  GW_DROP     on_filter only: do not deliver this event to this recipient.
 *  GW_REDACT   on_filter only: deliver *redacted_out (a new reference) instead of the event.
 *  GW_RETRY    on_send only (1.2): a temporary failure; the host retries with backoff.
 *  GW_REWRITE  on_publish only (1.3): accepted, with *rewritten_out (a new reference) routed instead.
 *  GW_ERROR    the plugin failed (a bug, an internal limit). Write the reason into *message.
 *              The host logs it, counts it in gateway_plugin_errors_total, and degrades only
 *              this event (see each hook); it never stops the gateway.
 *  Any other value is treated like GW_ERROR.
 */
#ifndef GATEWAY_PLUGIN_H
#define GATEWAY_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdarg.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GW_PLUGIN_ABI_MAJOR 1
#define GW_PLUGIN_ABI_MINOR 4

/** The one symbol the host looks up in a plugin. */
#define GW_PLUGIN_ENTRY_SYMBOL "gateway_plugin_entry"

/** Mark the entry function so it is exported from a library built with -fvisibility=hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define GW_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define GW_PLUGIN_EXPORT
#endif

/* ------------------------------------------------------------------------------------------ */
/* Result codes                                                                                */
/* ------------------------------------------------------------------------------------------ */

typedef int32_t gw_result;
enum {
    GW_OK = 0,
    GW_SKIP = 1,
    GW_REJECT = 2,
    GW_DROP = 3,
    GW_REDACT = 4,
    /** ABI 1.2, on_send only: not sent now, try again later (server down, rate limited). */
    GW_RETRY = 5,
    /** ABI 1.3, on_publish only: accepted; route *rewritten_out instead of the event. */
    GW_REWRITE = 6,
    GW_ERROR = -1,
};

/* ------------------------------------------------------------------------------------------ */
/* Capabilities: one bit per hook family. A set bit REQUIRES the matching hook pointer.        */
/* ------------------------------------------------------------------------------------------ */

typedef uint64_t gw_capabilities;
enum {
    /** on_targets: compute an event's targets from its category. Needs `categories`. */
    GW_CAP_CATEGORY_TARGETS = 1u << 0,
    /** on_filter: deliver, drop or redact an event for one recipient. */
    GW_CAP_RECIPIENT_FILTER = 1u << 1,
    /** on_validate_attachment: accept or reject an attachment (metadata + bytes). */
    GW_CAP_ATTACHMENT_VALIDATION = 1u << 2,
    /** on_thumbnail: make a thumbnail of an image within a bounding box. */
    GW_CAP_THUMBNAIL = 1u << 3,
    /** Every capability bit ABI 1.0 defines. */
    GW_CAP_ALL_V1_0 = 0xF,
    /** ABI 1.2, on_send (+ optional on_send_test): deliver one event to one recipient's address
     *  (email, chat id, URL) outside the WebSocket: offline and unread fallbacks. */
    GW_CAP_MESSENGER = 1u << 4,
    /** Every capability bit ABI 1.2 defines. */
    GW_CAP_ALL_V1_2 = 0x1F,
    /** ABI 1.3, on_publish: accept, refuse or rewrite an event a client publishes, before it is
     *  routed (moderation, spam limits, scripted flows). */
    GW_CAP_PUBLISH_GUARD = 1u << 5,
    /** ABI 1.3, on_routed: see every routed event, and publish events with host->publish()
     *  (a bot). */
    GW_CAP_RESPONDER = 1u << 6,
    /** ABI 1.3, on_query: answer GET /api/v1/plugins/<entry name>/<path> (a plugin's own
     *  read-only endpoints, e.g. a survey's answers). */
    GW_CAP_QUERY = 1u << 7,
    /** Every capability bit ABI 1.3 defines; the host refuses bits outside this mask. */
    GW_CAP_ALL_V1_3 = 0xFF,
};

/** ABI 1.3 publish_guard_flags. */
enum {
    /** on_publish may block (a database read): client publishes then run on the blocking pool. */
    GW_GUARD_MAY_BLOCK = 1u << 0,
};

/* ------------------------------------------------------------------------------------------ */
/* Messages: fixed-capacity text written by the plugin, owned by the caller.                   */
/* ------------------------------------------------------------------------------------------ */

#define GW_MESSAGE_CAPACITY 512
#define GW_MESSAGE_CODE_CAPACITY 64

typedef struct gw_message {
    /** NUL-terminated UTF-8 text. Starts as "" (text[0] == 0). */
    char text[GW_MESSAGE_CAPACITY];
    /* ---- ABI 1.2: present only when host->abi_minor >= 2 (an older host's gw_message ends
     * at text[]: never write these there; gw_message_refuse() checks for you). ---- */
    /** A stable machine-readable code ("attachment.bad_image", "smtp.mailbox_unknown"), NUL-
     *  terminated, starts as "". The host reads it instead of parsing text. */
    char code[GW_MESSAGE_CODE_CAPACITY];
    /** For client-facing refusals (GW_REJECT of attachment hooks): the HTTP status the plugin
     *  means (400..499). 0 = the stage's default. Ignored elsewhere. */
    int32_t http_status;
} gw_message;

/** printf into a gw_message, truncating safely. NULL msg is allowed (does nothing). */
static inline void gw_message_set(gw_message *msg, const char *format, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static inline void gw_message_set(gw_message *msg, const char *format, ...) {
    if (msg == NULL) return;
    va_list args;
    va_start(args, format);
    vsnprintf(msg->text, sizeof msg->text, format, args);
    va_end(args);
}

/* ------------------------------------------------------------------------------------------ */
/* Host services: what the gateway offers a plugin.                                            */
/* ------------------------------------------------------------------------------------------ */

typedef enum gw_log_level {
    GW_LOG_TRACE = 0,
    GW_LOG_DEBUG = 1,
    GW_LOG_INFO = 2,
    GW_LOG_NOTICE = 3,
    GW_LOG_WARNING = 4,
    GW_LOG_ERROR = 5,
} gw_log_level;

/**
 * Opaque token identifying one plugin instance to the host (which entry in gateway.conf).
 * Given to create(); pass it back to host services. Valid until destroy() returns.
 */
typedef struct gw_host_context gw_host_context;

typedef struct gw_host_services {
    /** sizeof(gw_host_services) as the host built it. Check before reading later-minor fields. */
    size_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;

    /**
     * Write one log line attributed to this plugin instance, through the gateway's logger.
     * `message` is borrowed for the call. Any thread. Never NULL.
     */
    void (*log)(const gw_host_context *context, gw_log_level level, const char *message);

    /** Allocate memory whose ownership may pass to the host (thumbnail bytes). Any thread. */
    void *(*alloc)(size_t size);
    /** Free memory from alloc() that the host did not take. Any thread. NULL is a no-op. */
    void (*free)(void *pointer);

    /* ---- ABI 1.3: present only when struct_size covers them (check before calling). ---- */

    /**
     * Publish an event as this plugin (a bot: the responder capability). Any thread; never
     * blocks: the event is copied, queued and routed later on the blocking-work pool (never on
     * an event loop), like an event from a trusted publisher — it may name rooms it is not a
     * member of, and it is not passed to publish guards nor to on_routed. The event's "source"
     * is kept when it is an object with an "id" string, else set to {"id": "<entry name>"}.
     *   event: BORROWED JSON object (the host copies it).
     * Returns GW_OK (queued; a routing refusal later — e.g. a room that does not exist — is
     * logged as a warning with the plugin's name and the code), GW_REJECT (not an object, or
     * 1,000 plugin events already wait: *message says which), GW_ERROR (no gateway runs in this
     * process: `gateway check`, a tool).
     */
    gw_result (*publish)(const gw_host_context *context, const json_t *event, gw_message *message);

    /**
     * Set a room member's state ("open", "closed", "scripted"); the room's members are told
     * with a room.member frame on the room's host (where it was created). BLOCKS (SQLite, or
     * Redis with several nodes): call it from on_routed, from an on_publish with
     * GW_GUARD_MAY_BLOCK, or from your own thread — never from a hook on an event loop.
     * Returns GW_OK, GW_REJECT (no such room or member, or an unknown state: *message says
     * which), GW_ERROR (the store failed; or this gateway has no rooms).
     */
    gw_result (*set_member_state)(const gw_host_context *context, const char *room, const char *member,
                                  const char *state, gw_message *message);

    /* ---- ABI 1.4: present only when struct_size covers it (check before calling). ---- */

    /**
     * The absolute folder of the gateway.conf whose [[plugins]] entry created this instance
     * (no trailing slash). Resolve relative paths in your config against it, as the gateway
     * resolves its own: a relative path must not depend on the directory the gateway was
     * started from. Any thread. The string is owned by the host and valid until destroy()
     * returns. Never NULL.
     */
    const char *(*config_directory)(const gw_host_context *context);

    /* ABI 1.5+ appends fields here. */
} gw_host_services;

/**
 * Write a coded refusal or error into `msg`: the text (printf-style) always; the stable `code`
 * and `http_status` (0 = the stage's default) only when `host` is ABI 1.2 or later. On an older
 * host the code is written as a "code: " prefix of the text instead, as 1.0/1.1 hosts expected.
 */
static inline void gw_message_refuse(const gw_host_services *host, gw_message *msg, const char *code,
                                     int32_t http_status, const char *format, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
static inline void gw_message_refuse(const gw_host_services *host, gw_message *msg, const char *code,
                                     int32_t http_status, const char *format, ...) {
    if (msg == NULL) return;
    int coded = host != NULL && host->abi_major == 1 && host->abi_minor >= 2 && code != NULL;
    size_t offset = 0;
    if (coded) {
        snprintf(msg->code, sizeof msg->code, "%s", code);
        msg->http_status = http_status;
    } else if (code != NULL) {
        int written = snprintf(msg->text, sizeof msg->text, "%s: ", code);
        offset = written > 0 && (size_t)written < sizeof msg->text ? (size_t)written : 0;
    }
    va_list args;
    va_start(args, format);
    vsnprintf(msg->text + offset, sizeof msg->text - offset, format, args);
    va_end(args);
}

/* ------------------------------------------------------------------------------------------ */
/* Hook payloads                                                                               */
/* ------------------------------------------------------------------------------------------ */

/** Opaque per-instance state; whatever create() returned. */
typedef struct gw_instance gw_instance;

typedef struct gw_thumbnail_request {
    size_t struct_size;
    /** The image bytes. Borrowed for the call; never NULL; length > 0. */
    const uint8_t *bytes;
    size_t length;
    /** Declared MIME type ("image/png"), borrowed, NUL-terminated. */
    const char *mime;
    /** Bounding box: the thumbnail must fit (aspect ratio kept). Both > 0. */
    uint32_t max_width;
    uint32_t max_height;
} gw_thumbnail_request;

typedef struct gw_thumbnail_result {
    size_t struct_size;
    /** Thumbnail bytes, allocated with host->alloc(); the host owns them on GW_OK. */
    uint8_t *bytes;
    size_t length;
    /** MIME type of `bytes`, NUL-terminated ("image/png"). */
    char mime[64];
    uint32_t width;
    uint32_t height;
} gw_thumbnail_result;

/**
 * ABI 1.2, on_send: one event for one recipient through one messenger. Borrowed for the call.
 */
typedef struct gw_delivery {
    size_t struct_size;
    /** The event as the recipient would have received it over WebSocket (after its filters). */
    const json_t *event;
    /** {"id": "alice", "principals": ["alice", ...]}: who it is for. */
    const json_t *recipient;
    /** The recipient's address for this messenger (an email address, a chat id, a URL):
     *  from the user's own setting or a token claim. NUL-terminated, never NULL, never "".
     *  Publishers never see it; log it only when you must. */
    const char *address;
    /** This messenger's alias: the [[plugins]] entry name ("smtp"). */
    const char *alias;
    /** 1 on the first try, 2 on the first retry, ... */
    uint32_t attempt;
    /** A stable id of this delivery (event id and recipient), identical on every retry and
     *  after a restart: a messenger that can de-duplicate (a Message-ID header) should use it. */
    const char *delivery_id;
} gw_delivery;

/**
 * ABI 1.3, on_publish: one event a client publishes, before it is routed. Borrowed for the call.
 */
typedef struct gw_publish_request {
    size_t struct_size;
    /** The event as it will be routed: normalized, with "id", "source", "host" and "target"
     *  (the explicit principals and rooms, or what category-targets plugins computed). */
    const json_t *event;
    /** {"id": "alice", "title": "Alice"|null, "principals": ["alice", ...]}: who publishes. */
    const json_t *publisher;
    /** For an event sent to rooms, the publisher's membership in each, in target order:
     *  [{"room": "<id>", "state": "open"|"closed"|"scripted", "permissions": ["read", ...]}];
     *  [] otherwise. (Not a member of a named room: the host refused the event already.) */
    const json_t *memberships;
    /** Where it came in: "http" or "websocket". */
    const char *ingress;
} gw_publish_request;

/* ------------------------------------------------------------------------------------------ */
/* The descriptor                                                                              */
/* ------------------------------------------------------------------------------------------ */

typedef struct gw_plugin_descriptor {
    /** sizeof(gw_plugin_descriptor) as the plugin built it. */
    size_t struct_size;
    /** GW_PLUGIN_ABI_MAJOR / GW_PLUGIN_ABI_MINOR as the plugin was compiled. */
    uint32_t abi_major;
    uint32_t abi_minor;
    /** Stable plugin name ("category-targets") and version ("1.2.0"). Static strings. */
    const char *name;
    const char *version;
    /** Bitwise OR of GW_CAP_* values. */
    gw_capabilities capabilities;
    /** Free text saying how the plugin was built (compiler, date); shown by `plugin inspect`. May be NULL. */
    const char *build_signature;

    /**
     * GW_CAP_CATEGORY_TARGETS: NULL-terminated array of the categories this plugin handles,
     * "*" for every category. Static. The host calls on_targets only for these categories.
     * A descriptor may leave it NULL and decide per instance by returning GW_SKIP.
     */
    const char *const *categories;

    /**
     * Create an instance from its configuration. Control thread.
     *   host:    host services, valid for the life of the process.
     *   context: identifies this instance to host services; valid until destroy() returns.
     *   config:  BORROWED JSON object (the [[plugins]] entry's `config` table; {} when absent).
     *   error:   on failure, write why (the host shows it with the plugin's file and name).
     * Returns the instance (any non-NULL pointer), or NULL to reject the configuration.
     */
    gw_instance *(*create)(const gw_host_services *host, const gw_host_context *context,
                           const json_t *config, gw_message *error);

    /** Destroy an instance. Control thread, after all of its hook calls have returned. */
    void (*destroy)(gw_instance *instance);

    /**
     * GW_CAP_CATEGORY_TARGETS. Worker threads (see Threading), concurrently; must not block.
     *   event:       BORROWED event object (action, category, source, host, ...).
     *   targets_out: on GW_OK, a NEW reference to an object such as {"principals": ["a", "b"]}
     *                ("principals" must be an array of strings).
     * Returns GW_OK, GW_SKIP (not my category), or GW_ERROR (the host then delivers the event
     * to no computed targets, logs the message and counts the error).
     */
    gw_result (*on_targets)(gw_instance *instance, const json_t *event, json_t **targets_out,
                            gw_message *error);

    /**
     * GW_CAP_RECIPIENT_FILTER. Worker threads (see Threading), concurrently; must not block.
     *   event:        BORROWED event object as it will be delivered.
     *   recipient:    BORROWED {"id": "alice", "principals": [...], "host": "..."}.
     *   redacted_out: on GW_REDACT, a NEW reference to the object to deliver instead.
     * Returns GW_OK (deliver), GW_DROP, GW_REDACT, GW_SKIP (same as GW_OK), or GW_ERROR (the
     * host does NOT deliver to this recipient: a failing filter fails closed).
     */
    gw_result (*on_filter)(gw_instance *instance, const json_t *event, const json_t *recipient,
                           json_t **redacted_out, gw_message *error);

    /**
     * GW_CAP_ATTACHMENT_VALIDATION. Blocking-work pool, concurrently; may be slow.
     *   metadata: BORROWED {"type": "image"|"youtube"|"object_reference"|..., "name": "a.png",
     *             "mime": "image/png", "size": 1234, "url": "..."}; keys absent when unknown.
     *   bytes:    BORROWED content, or NULL with length 0 for types without bytes (URLs).
     * Returns GW_OK (accepted), GW_SKIP (no opinion), GW_REJECT (refused; *message is shown to
     * the client), GW_ERROR (the upload fails with a server error).
     */
    gw_result (*on_validate_attachment)(gw_instance *instance, const json_t *metadata,
                                        const uint8_t *bytes, size_t length, gw_message *message);

    /**
     * GW_CAP_THUMBNAIL. Blocking-work pool, concurrently; may be slow but bounded.
     *   request: BORROWED for the call.
     *   result:  caller-owned, zeroed, result->struct_size set by the host. Fill it on GW_OK.
     * Returns GW_OK, GW_SKIP (MIME type not handled), GW_REJECT (corrupt or hostile image;
     * *message is shown to the client), GW_ERROR.
     */
    gw_result (*on_thumbnail)(gw_instance *instance, const gw_thumbnail_request *request,
                              gw_thumbnail_result *result, gw_message *message);

    /* ---- ABI 1.1 ---------------------------------------------------------------------- */

    /**
     * GW_CAP_RECIPIENT_FILTER, OPTIONAL (NULL, or a descriptor older than 1.1: on_filter is
     * called for every recipient). Worker threads (see Threading), concurrently; must not block.
     * Called ONCE per event, before any per-recipient on_filter call, to say whether this
     * filter can change anything for this event:
     *   event: BORROWED event object, as in on_filter.
     * Returns GW_SKIP when on_filter would deliver the event unchanged to EVERY recipient (the
     * host then makes no per-recipient call for this event: a filter that only concerns some
     * messages costs nothing on the others), GW_OK when on_filter must be asked per recipient.
     * GW_ERROR (or anything else) is treated like GW_OK: the per-recipient calls decide.
     */
    gw_result (*on_filter_event)(gw_instance *instance, const json_t *event, gw_message *error);

    /* ---- ABI 1.2 ---------------------------------------------------------------------- */

    /**
     * GW_CAP_MESSENGER. Blocking-work pool, NEVER an event loop; concurrently for the same
     * instance; may block on the network, but must bound its time (a timeout of seconds).
     *   delivery: BORROWED for the call (see gw_delivery).
     *   message:  the reason, for the log and the dead-letter record; give a stable code with
     *             gw_message_refuse().
     * Returns GW_OK (sent: the host never sends this delivery again), GW_RETRY (temporary
     * failure: the host tries again later with backoff, up to its retry limit, then dead-
     * letters it), GW_REJECT (refused for good: a bad address, a permanent server refusal; not
     * retried), GW_ERROR (a plugin failure: counted in gateway_plugin_errors_total and retried
     * like GW_RETRY). The host may call on_send again for a delivery it cannot prove was sent
     * (a crash between your send and your return): use delivery_id to de-duplicate.
     */
    gw_result (*on_send)(gw_instance *instance, const gw_delivery *delivery, gw_message *message);

    /**
     * GW_CAP_MESSENGER, OPTIONAL (NULL: `gateway messenger test` sends through on_send with a
     * synthetic event). Blocking-work pool; same rules as on_send. Send a test message to
     * `address` (sitemessage's send_test_message). Returns as on_send.
     */
    gw_result (*on_send_test)(gw_instance *instance, const char *address, gw_message *message);

    /* ---- ABI 1.3 ---------------------------------------------------------------------- */

    /**
     * GW_CAP_PUBLISH_GUARD. Where the publish runs (see Threading and publish_guard_flags),
     * concurrently; must not block unless GW_GUARD_MAY_BLOCK is set.
     *   request:       BORROWED for the call (see gw_publish_request).
     *   rewritten_out: on GW_REWRITE, a NEW reference to the event object to route instead.
     *   message:       on GW_REJECT, the reason the client sees; give a stable code and an
     *                  HTTP status (400..499) with gw_message_refuse().
     * Returns GW_SKIP, GW_OK, GW_REWRITE, GW_REJECT or GW_ERROR (see "How results combine").
     */
    gw_result (*on_publish)(gw_instance *instance, const gw_publish_request *request,
                            json_t **rewritten_out, gw_message *message);

    /**
     * GW_CAP_RESPONDER. Blocking-work pool, never an event loop; concurrently; after the event
     * was recorded and delivered (events from host->publish() excepted).
     *   event: BORROWED event as routed (with its "id").
     * Returns GW_OK (or GW_SKIP); GW_ERROR is logged and counted, nothing else changes.
     */
    gw_result (*on_routed)(gw_instance *instance, const json_t *event, gw_message *message);

    /**
     * GW_CAP_QUERY. Blocking-work pool, concurrently; may read a database (bounded). Answers
     * GET /api/v1/plugins/<entry name>/<path> for an authenticated caller (a valid token; the
     * plugin decides what the caller may see).
     *   path:       the URL path after "<entry name>/", percent-decoded ("" for none), no query.
     *   caller:     BORROWED {"id": "alice", "title": "Alice"|null, "principals": [...], "admin": bool}.
     *   query:      BORROWED object of the query string's parameters ({"limit": "10"}).
     *   answer_out: on GW_OK, a NEW reference to the JSON body of the 200 answer.
     * Returns GW_OK, GW_SKIP (404 http.not_found), GW_REJECT (the client gets the code and
     * status (400..499) of gw_message_refuse(); default 403 plugin.query_forbidden), GW_ERROR
     * (500 plugin.query_failed).
     */
    gw_result (*on_query)(gw_instance *instance, const char *path, const json_t *caller, const json_t *query,
                          json_t **answer_out, gw_message *message);

    /** GW_CAP_PUBLISH_GUARD: GW_GUARD_* bits (0: on_publish never blocks). */
    uint64_t publish_guard_flags;

    /* ABI 1.4+ appends fields here. */
} gw_plugin_descriptor;

/** Size of the ABI 1.0 descriptor: the smallest struct_size the host accepts. */
#define GW_PLUGIN_DESCRIPTOR_V1_0_SIZE \
    (offsetof(gw_plugin_descriptor, on_thumbnail) + sizeof(void *))

/** Size of the ABI 1.1 descriptor (adds on_filter_event). */
#define GW_PLUGIN_DESCRIPTOR_V1_1_SIZE \
    (offsetof(gw_plugin_descriptor, on_filter_event) + sizeof(void *))

/** Size of the ABI 1.2 descriptor (adds on_send, on_send_test). */
#define GW_PLUGIN_DESCRIPTOR_V1_2_SIZE \
    (offsetof(gw_plugin_descriptor, on_send_test) + sizeof(void *))

/** Size of the ABI 1.3 descriptor (adds on_publish, on_routed, on_query, publish_guard_flags). */
#define GW_PLUGIN_DESCRIPTOR_V1_3_SIZE \
    (offsetof(gw_plugin_descriptor, publish_guard_flags) + sizeof(uint64_t))

/** Size of the ABI 1.2 host services (before publish and set_member_state). */
#define GW_HOST_SERVICES_V1_2_SIZE \
    (offsetof(gw_host_services, free) + sizeof(void *))

/** Size of the ABI 1.3 host services (adds publish and set_member_state; before config_directory). */
#define GW_HOST_SERVICES_V1_3_SIZE \
    (offsetof(gw_host_services, set_member_state) + sizeof(void *))

/**
 * The entry function every plugin exports as GW_PLUGIN_ENTRY_SYMBOL:
 *
 *     GW_PLUGIN_EXPORT const gw_plugin_descriptor *gateway_plugin_entry(void);
 *
 * Control thread; may be called more than once; must return the same static descriptor.
 */
typedef const gw_plugin_descriptor *(*gw_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* GATEWAY_PLUGIN_H */
