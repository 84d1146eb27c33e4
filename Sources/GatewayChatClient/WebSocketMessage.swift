/// What `WebSocketClient.next` hands out, in the order things arrived. Fragmented messages are
/// reassembled before they are queued; pings are answered automatically and never surface.
public enum WebSocketMessage: Sendable, Equatable {
    case text(String)
    case binary([UInt8])
    case pong([UInt8])
    /// A close frame from the server. The client does not answer it by itself, so tests can check
    /// what the server does next; call `close()` to finish the handshake.
    case close(code: UInt16?, reason: String)
    /// The TCP connection ended without a close frame. Once the connection is gone and the queue
    /// is empty, every further `next()` also returns `.disconnected` at once instead of waiting.
    case disconnected
}
