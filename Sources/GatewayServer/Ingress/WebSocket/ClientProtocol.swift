import GatewayCore
import GatewayJSON

/// The client-to-server frames (docs/client-protocol.md):
///   {"type": "publish", "ref": "r1", "event": {...}}            → {"type": "ack", "ref": "r1", "id": 42}
///   {"type": "typing",  "ref": "r2", "target": {"principals": [...]}}  → ack; targets get {"type": "typing", ...}
///   {"type": "read",    "ref": "r3", "id": 42, "target": {...}}  → ack; targets get {"type": "read", "id": 42, ...}
/// Any refusal answers {"type": "error", "ref": ..., "error": {"code", "message"}} and keeps the
/// connection open.
enum ClientProtocol {
    static func handle(text: String, from connection: ClientConnection, server: ServerContext) {
        let frame: JSON
        do {
            frame = try JSON.parse(text)
        } catch {
            connection.sendError(ref: nil, GatewayError(code: "client.invalid_json", message: "Frames must be JSON objects: \(error)", status: 400))
            return
        }
        let view = frame.view
        let ref = view["ref"]
        guard view.isObject, let type = view["type"].string else {
            connection.sendError(ref: ref, GatewayError(code: "client.missing_type",
                                                        message: "A client frame is an object with a 'type': publish, typing or read.", status: 400))
            return
        }
        switch type {
        case "publish":
            publish(view, ref: ref, connection: connection, server: server)
        case "typing", "read":
            signal(type, view, ref: ref, connection: connection, server: server)
        default:
            connection.sendError(ref: ref, GatewayError(code: "client.unknown_type",
                                                        message: "Unknown frame type '\(type)'; use publish, typing or read.", status: 400))
        }
    }

    private static func publish(_ frame: JSONView, ref: JSONView, connection: ClientConnection, server: ServerContext) {
        guard connection.identity.canPublish else {
            connection.sendError(ref: ref, .publishForbidden)
            return
        }
        let event = frame["event"]
        guard event.isObject else {
            connection.sendError(ref: ref, .invalidEvent("not_object", "'event' must be a JSON object."))
            return
        }
        do throws(GatewayError) {
            let publisher = Publisher(id: connection.identity.id, title: connection.identity.title, principals: connection.identity.principals)
            let id = try server.router.publish(event, from: publisher, ingress: "websocket", hostFallback: connection.host)
            let ack = JSON.object()
            ack.set("type", "ack")
            if let retained = ref.retained() { ack.set("ref", retained) }
            ack.set("id", .integer(Int(id)))
            connection.send(json: ack)
        } catch {
            connection.sendError(ref: ref, error)
        }
    }

    /// Typing indicators and read marks: ephemeral, not stored, no publish permission needed, but
    /// still addressed to principals and never echoed to the sender.
    private static func signal(_ type: String, _ frame: JSONView, ref: JSONView, connection: ClientConnection,
                               server: ServerContext) {
        guard let principals = frame["target"]["principals"].strings, !principals.isEmpty else {
            connection.sendError(ref: ref, .invalidEvent("bad_target", "'target' must be like {\"principals\": [\"user:bob\"]}."))
            return
        }
        let signal = JSON.object()
        signal.set("type", type)
        if type == "read" {
            guard let id = frame["id"].int, id > 0 else {
                connection.sendError(ref: ref, .invalidEvent("bad_id", "A read mark needs the 'id' of the event that was read."))
                return
            }
            signal.set("id", .integer(id))
        }
        let source = JSON.object()
        source.set("id", connection.identity.id)
        source.set("title", connection.identity.title.map { JSON.string($0) } ?? .null())
        signal.set("source", source)
        signal.set("host", connection.host)
        signal.set("target", EventNormalizer.targetObject(principals))
        signal.set("timestamp", ISOTimestamp.now())
        server.router.publishSignal(signal, targets: principals, host: connection.host, senderId: connection.identity.id)
        let ack = JSON.object()
        ack.set("type", "ack")
        if let retained = ref.retained() { ack.set("ref", retained) }
        connection.send(json: ack)
    }
}

extension GatewayError {
    static let publishForbidden = GatewayError(
        code: "auth.publish_forbidden",
        message: "This token may not publish: it needs the publish permission (see [auth] publish_claim / publish_scope).",
        status: 403)
}
