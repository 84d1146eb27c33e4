import CJansson
import GatewayJSON

/// Who published an event, as the gateway authenticated them. The event's `source` is always
/// this identity: a client can never speak for someone else.
public struct Publisher: Sendable {
    public var id: String
    public var title: String?
    /// The publisher's principals (its id first): what it may read, e.g. attachments shared with
    /// a group it belongs to.
    public var principals: [String]
    /// Events from a trusted ingress (the Redis channel, written by the application itself) keep
    /// the `source` they carry, as pyams_chat's messages do.
    public var trusted: Bool

    public init(id: String, title: String?, principals: [String] = [], trusted: Bool = false) {
        self.id = id
        self.title = title
        self.principals = principals
        self.trusted = trusted
    }
}

/// What the gateway does with event fields it does not know (`[server] unknown_event_fields`).
public enum UnknownEventFields: String, Sendable, Equatable, CaseIterable {
    /// Delivered as sent: a site's own fields (pyams_chat's message extensions add some) reach
    /// its clients without a gateway change. The default.
    case keep
    /// Refused with `event.unknown_field`: for sites that want the schema closed.
    case refuse
}

/// Turns a published JSON object into the event the chain and the clients see: checks every
/// known field's type, fills defaults (status, host, timestamp), stamps the id and the source.
/// The pyams_chat 2.x event model (its ChatMessageEncoder): host, channel, action, category,
/// status, title, message, image, source {id, title, avatar}, target, url, modal, timestamp;
/// plus `attachments`, a free `data` object and `type` (chat_api). Other fields: see
/// UnknownEventFields.
public enum EventNormalizer {
    static let knownFields: Set<String> = Set(EventFields.Name.allCases.map(\.key))
    /// Copied when present, left out when not.
    private static let optionalTexts: [EventFields.Name] = [.type, .title, .message, .channel]

    public static func normalize(
        _ input: JSONView, id: Int64, publisher: Publisher, defaultHost: String, now: String,
        unknownFields: UnknownEventFields = .keep
    ) throws(GatewayError) -> JSON {
        guard input.isObject else {
            throw .invalidEvent("not_object", "An event must be a JSON object.")
        }
        let fields = EventFields(input)
        let hasUnknownFields = fields.unknownCount > 0
        if unknownFields == .refuse && hasUnknownFields {
            for (key, _) in input.members where !knownFields.contains(key) {
                throw .invalidEvent("unknown_field", "Unknown event field '\(key)'. Known fields: \(knownFields.sorted().joined(separator: ", ")).")
            }
        }
        for field in EventFields.stringFields {
            let value = fields[field]
            if value.exists && !value.isNull && value.kind != .string {
                throw .invalidEvent("field_type", "Event field '\(field.key)' must be a string.")
            }
        }
        for field in EventFields.boolFields {
            let value = fields[field]
            if value.exists && !value.isNull && value.bool == nil {
                throw .invalidEvent("field_type", "Event field '\(field.key)' must be true or false.")
            }
        }
        guard let category = fields.sharedString(.category), let text = category.view.pointer, json_string_length(text) > 0 else {
            throw .invalidEvent("missing_category", "An event needs a non-empty 'category' string (e.g. \"chat.message\").")
        }
        if fields[.id].exists {
            throw .invalidEvent("id_not_allowed", "Do not send 'id': the gateway assigns each event its id.")
        }

        let event = JSON.object()
        event.set("id", .integer(Int(id)))
        // String fields are shared with the parsed input (a reference, not a copy): the input
        // is never changed and is released when the publish returns.
        event.set("action", fields.sharedString(.action) ?? .string("notify"))
        event.set("category", category)
        event.set("status", fields.sharedString(.status) ?? .string("info"))
        event.set("source", try source(of: fields[.source], publisher: publisher))
        // `type` is chat_api's message type (e.g. "secret"), read by the message-type filter.
        for field in Self.optionalTexts {
            if let text = fields.sharedString(field) { event.set(field.key, text) }
        }
        // pyams_chat always sends image and modal; they are kept as sent (null included).
        if fields[.image].exists { event.set("image", fields.sharedString(.image) ?? .null()) }
        if let modal = fields[.modal].bool { event.set("modal", .bool(modal)) }
        event.set("url", fields.sharedString(.url) ?? .null())
        if let timestamp = fields[.timestamp].string {
            guard ISOTimestamp.isValid(timestamp) else {
                throw .invalidEvent("bad_timestamp", "'timestamp' must be ISO 8601, like 2026-11-22T10:15:00Z.")
            }
            event.set("timestamp", fields.sharedString(.timestamp)!)
        } else {
            event.set("timestamp", now)
        }
        event.set("host", fields.sharedString(.host) ?? .string(defaultHost))

        let target = fields[.target]
        if target.exists && !target.isNull {
            // Principals, rooms (expanded to their members by the target step), or both.
            let principals = target["principals"], rooms = target["rooms"]
            let principalList = principals.strings, roomList = rooms.strings
            guard target.isObject, principals.exists || rooms.exists,
                  !principals.exists || principalList != nil, !rooms.exists || roomList != nil else {
                throw .invalidEvent("bad_target", "'target' must be an object like {\"principals\": [\"user:alice\"]} or {\"rooms\": [\"<room id>\"]}.")
            }
            let normalized = JSON.object()
            if let list = principalList { normalized.set("principals", .strings(list)) }
            if let list = roomList { normalized.set("rooms", .strings(list)) }
            event.set("target", normalized)
        }
        let attachments = fields[.attachments]
        if attachments.exists && !attachments.isNull {
            guard attachments.isArray, attachments.elements.allSatisfy(\.isObject) else {
                throw .invalidEvent("bad_attachments", "'attachments' must be an array of objects.")
            }
            event.set("attachments", attachments.retained()!)
        }
        let data = fields[.data]
        if data.exists && !data.isNull {
            guard data.isObject else {
                throw .invalidEvent("bad_data", "'data' must be a JSON object.")
            }
            event.set("data", data.retained()!)
        }
        if hasUnknownFields {
            for (key, value) in input.members where !knownFields.contains(key) {
                if let copy = value.retained() { event.set(key, copy) }
            }
        }
        return event
    }

    public static func targetObject(_ principals: [String]) -> JSON {
        let target = JSON.object()
        target.set("principals", .strings(principals))
        return target
    }

    private static func source(of given: JSONView, publisher: Publisher) throws(GatewayError) -> JSON {
        if given.exists && !given.isNull {
            guard given.isObject, given["id"].string != nil || !given["id"].exists else {
                throw .invalidEvent("bad_source", "'source' must be an object like {\"id\": \"user:alice\", \"title\": \"Alice\"}.")
            }
            let avatar = given["avatar"]
            if avatar.exists, !avatar.isNull, avatar.string == nil {
                throw .invalidEvent("bad_source", "'source.avatar' must be a string (an image URL).")
            }
            if publisher.trusted, let id = given["id"].string {
                // The application speaks for its users: its source is kept whole (pyams_chat's
                // message extensions may add members beside id, title and avatar).
                let source = JSON.object()
                source.set("id", id)
                source.set("title", given["title"].string.map { JSON.string($0) } ?? .null())
                for (key, value) in given.members where key != "id" && key != "title" {
                    if let copy = value.retained() { source.set(key, copy) }
                }
                return source
            }
            if let id = given["id"].string, id != publisher.id {
                throw GatewayError(code: "event.source_forbidden",
                                   message: "'source.id' must be your own id ('\(publisher.id)'); you cannot publish as '\(id)'.",
                                   status: 403)
            }
        }
        let source = JSON.object()
        source.set("id", publisher.id)
        // The title comes from the token only: a nameless publisher must not pick a name
        // ("Site Administrator") that recipients would trust.
        source.set("title", publisher.title.map { JSON.string($0) } ?? .null())
        if let avatar = given["avatar"].string { source.set("avatar", avatar) }
        return source
    }
}

extension JSONView {
    /// The string value of `field`, as a new reference to the same json_t (no copy); nil when
    /// the field is missing or not a string.
    func sharedString(_ field: String) -> JSON? {
        let value = self[field]
        return value.kind == .string ? value.retained() : nil
    }
}
