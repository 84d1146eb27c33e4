import GatewayJSON
import NIOCore
import NIOWebSocket

/// One WebSocket connection as the admin console lists it.
struct ConnectionSummary: Sendable {
    let id: UInt64
    let principal: String
    let host: String
    let connectedAt: String
    let queuedBytes: Int

    var json: JSON {
        let object = JSON.object()
        object.set("id", .integer(Int(id)))
        object.set("principal", principal)
        object.set("host", host)
        object.set("connected_at", connectedAt)
        object.set("queued_bytes", .integer(queuedBytes))
        return object
    }
}

/// Reads and acts on the connections of every event loop, each on its own loop (the session
/// indexes are loop-confined): one hop per loop, never a lock on the delivery path.
struct ConnectionDirectory: Sendable {
    let fanOut: FanOut

    /// Every open connection (not those already closing), oldest first.
    func all(on eventLoop: EventLoop) -> EventLoopFuture<[ConnectionSummary]> {
        let perLoop = fanOut.shards.map { shard in
            shard.loop.submit {
                var summaries: [ConnectionSummary] = []
                shard.forEachConnection { if !$0.closing { summaries.append($0.summary) } }
                return summaries
            }
        }
        return EventLoopFuture.whenAllSucceed(perLoop, on: eventLoop).map { $0.joined().sorted { $0.id < $1.id } }
    }

    /// Closes connection `id` with 4000 ("disconnected by an administrator"); false if there is none.
    func disconnect(_ id: UInt64, on eventLoop: EventLoop) -> EventLoopFuture<Bool> {
        let perLoop = fanOut.shards.map { shard in
            shard.loop.submit { () -> Bool in
                var found: ClientConnection?
                shard.forEachConnection { if $0.connectionId == id && !$0.closing { found = $0 } }
                found?.close(code: Self.closeCode, reason: "disconnected by an administrator")
                return found != nil
            }
        }
        return EventLoopFuture.whenAllSucceed(perLoop, on: eventLoop).map { $0.contains(true) }
    }

    static let closeCode = WebSocketErrorCode(codeNumber: 4000)
}
