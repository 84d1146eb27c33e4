import GatewayAuth
import GatewayCore
import GatewayJSON
import NIOCore
import NIOPosix

/// Typing indicators and read marks scoped to a room, from a WebSocket client:
///
///     {"type": "typing", "ref": "t1", "room": "<id>", "length": 1000}
///     {"type": "read",   "ref": "r1", "room": "<id>", "id": 42}
///
/// Membership is read from the store, so the work runs on the blocking pool; the ack (or the
/// refusal) is written back on the connection's loop. A read mark also clears the member's
/// unread count (its connections get an `unread` frame).
struct RoomSignals: Sendable {
    /// chat_api's `length` (ms) bounds: a typing indicator shows for 0.1 s to 1 minute.
    static let typingLength = 100...60_000
    static let defaultTypingLength = 5_000

    let rooms: RoomService
    let pipeline: EventPipeline
    let pool: NIOThreadPool

    func handle(_ type: String, _ frame: JSONView, ref: JSONView, identity: Identity, host: String,
                connection: ClientConnection, loop: EventLoop) {
        guard let room = frame["room"].string, !room.isEmpty else {
            connection.sendError(ref: ref, .badRoomRequest("'room' must be a room id."))
            return
        }
        var readId: Int64?
        var length: Int?
        if type == "read" {
            guard let id = frame["id"].int, id > 0 else {
                connection.sendError(ref: ref, .invalidEvent("bad_id", "A read mark needs the 'id' of the newest event read."))
                return
            }
            readId = Int64(id)
        } else {
            let value = frame["length"].exists ? frame["length"].int : Self.defaultTypingLength
            guard let value, Self.typingLength.contains(value) else {
                connection.sendError(ref: ref, .badRoomRequest("'length' is how long to show the indicator, 100 to 60000 milliseconds."))
                return
            }
            length = value
        }
        let refText = ref.exists ? ref.retained() : nil
        let answer = NIOLoopBound(connection, eventLoop: loop)
        let rooms = self.rooms, pipeline = self.pipeline
        let publisher = Publisher(id: identity.id, title: identity.title, principals: identity.principals)
        pool.runIfActive(eventLoop: loop) { [readId, length] () throws -> Signal in
            let members = try rooms.liveMembers(of: room, for: identity)
            if let readId {
                _ = try rooms.markRead(room: room, upTo: readId, by: identity, host: host)
                return Signal(.read(readId), targets: members, room: room)
            }
            return Signal(.typing, targets: members, room: room, lengthMilliseconds: length)
        }.flatMap { signal in
            // Acked once the engine passed it on (an engine.unavailable error when Redis is down).
            let sent = loop.makePromise(of: Void.self)
            pipeline.signal(signal, from: publisher, host: host) { sent.completeWith($0.mapError { $0 as Error }) }
            return sent.futureResult
        }.whenComplete { result in
            let ref = refText?.view ?? JSONView(nil as JSONPointer?)
            switch result {
            case .success: answer.value.sendAck(ref: ref)
            case .failure(let error as GatewayError): answer.value.sendError(ref: ref, error)
            case .failure(let error):
                answer.value.sendError(ref: ref, GatewayError(code: "room.unavailable", message: "\(error)", status: 503))
            }
        }
    }
}
