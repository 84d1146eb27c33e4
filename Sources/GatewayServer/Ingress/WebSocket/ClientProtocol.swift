import GatewayAuth
import GatewayCore
import GatewayJSON
import NIOCore

/// The client-to-server frames (docs/client-protocol.md):
///   {"type": "publish", "ref": "r1", "event": {...}}            → {"type": "ack", "ref": "r1", "id": 42}
///   {"type": "typing",  "ref": "r2", "target": {"principals": [...]}}  → ack; targets get {"type": "typing", ...}
///                                     (an engine.unavailable error instead when Redis is down: then only
///                                     recipients on this node got it)
///   {"type": "read",    "ref": "r3", "id": 42, "target": {...}}  → ack; stored for the reader; targets (optional)
///                                                                   get {"type": "read", "id": 42, ...}
///   {"type": "typing", "room": "<id>", "length": 1000} / {"type": "read", "room": "<id>", "id": 42}
///                                                                   → the room's members (RoomSignals)
/// Any refusal answers {"type": "error", "ref": ..., "error": {"code", "message"}} and keeps the
/// connection open. Parsing only: events and signals go to the pipeline.
struct ClientProtocol: Sendable {
    let identity: Identity
    /// The connection's host (its Origin): the host of the events it publishes that name none.
    let host: String
    let pipeline: EventPipeline
    let rooms: RoomSignals
    /// Which other hosts this identity may name in an event's `host`.
    let hosts: HostPolicy

    private var publisher: Publisher {
        Publisher(id: identity.id, title: identity.title, principals: identity.principals)
    }

    func handle(text: String, connection: ClientConnection, loop: EventLoop) {
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
            publish(view, ref: ref, connection: connection, loop: loop)
        case "typing", "read":
            signal(type, view, ref: ref, connection: connection, loop: loop)
        default:
            connection.sendError(ref: ref, GatewayError(code: "client.unknown_type",
                                                        message: "Unknown frame type '\(type)'; use publish, typing or read.", status: 400))
        }
    }

    private func publish(_ frame: JSONView, ref: JSONView, connection: ClientConnection, loop: EventLoop) {
        guard identity.canPublish else {
            connection.sendError(ref: ref, .publishForbidden)
            return
        }
        let event = frame["event"]
        guard event.isObject, let input = event.retained() else {
            connection.sendError(ref: ref, .invalidEvent("not_object", "'event' must be a JSON object."))
            return
        }
        if case .failure(let error) = hosts.resolve(explicit: event["host"].string, origin: host, for: identity) {
            connection.sendError(ref: ref, error)
            return
        }
        let answer = NIOLoopBound((connection, frame), eventLoop: loop)
        pipeline.publish(input, from: publisher, ingress: .websocket, hostFallback: host) { result in
            Self.answer(result.map(Optional.some), to: answer, on: loop)
        }
    }

    /// Sends the ack (with the event id, for a publish) or the error frame. The pipeline may
    /// finish on a blocking-pool or Redis thread: answer on the connection's loop.
    private static func answer(_ result: Result<Int64?, GatewayError>, to answer: NIOLoopBound<(ClientConnection, JSONView)>,
                               on loop: EventLoop) {
        let reply: @Sendable () -> Void = {
            let (connection, frame) = answer.value
            switch result {
            case .success(let id): connection.sendAck(ref: frame["ref"], id: id)
            case .failure(let error): connection.sendError(ref: frame["ref"], error)
            }
        }
        if loop.inEventLoop { reply() } else { loop.execute(reply) }
    }

    /// Typing indicators and read marks: ephemeral, not stored, no publish permission needed, but
    /// still addressed to principals and never echoed to the sender.
    private func signal(_ type: String, _ frame: JSONView, ref: JSONView, connection: ClientConnection, loop: EventLoop) {
        // Every read mark is stored for the reader (it stops the event's pending offline
        // fallbacks). Without a room or a target that is all it does.
        let readId = type == "read" ? frame["id"].int.flatMap { $0 > 0 ? Int64($0) : nil } : nil
        if let readId { pipeline.markRead(readId, reader: identity.id) }
        if frame["room"].exists {
            rooms.handle(type, frame, ref: ref, identity: identity, host: host, connection: connection, loop: loop)
            return
        }
        if type == "read", !frame["target"].exists {
            guard readId != nil else {
                connection.sendError(ref: ref, .invalidEvent("bad_id", "A read mark needs the 'id' of the event that was read."))
                return
            }
            connection.sendAck(ref: ref)
            return
        }
        guard let principals = frame["target"]["principals"].strings, !principals.isEmpty else {
            connection.sendError(ref: ref, .invalidEvent("bad_target", "'target' must be like {\"principals\": [\"user:bob\"]}."))
            return
        }
        let kind: Signal.Kind
        if type == "read" {
            guard let id = frame["id"].int, id > 0 else {
                connection.sendError(ref: ref, .invalidEvent("bad_id", "A read mark needs the 'id' of the event that was read."))
                return
            }
            kind = .read(Int64(id))
        } else {
            kind = .typing
        }
        let answer = NIOLoopBound((connection, frame), eventLoop: loop)
        pipeline.signal(Signal(kind, targets: principals), from: publisher, host: host) { result in
            Self.answer(result.map { nil }, to: answer, on: loop)
        }
    }
}

extension GatewayError {
    static let publishForbidden = GatewayError(
        code: "auth.publish_forbidden",
        message: "This token may not publish: it needs the publish permission (see [auth] publish_claim / publish_scope).",
        status: 403)
}
