/// Who is online, as room presence sees it. One node: its own connections (LocalPresence in
/// GatewayServer). Several nodes on the redis engine: every node's connections, kept per node in
/// Redis with a heartbeat, so a node that dies takes its principals offline (RedisPresence in
/// GatewayEngine). GatewayServer picks one from `[engine] kind` and passes it in.
///
/// Every method may wait (a round trip to Redis): call it on the blocking-work pool.
public protocol PresenceDirectory: Sendable {
    /// True when `update` must run on every tick even without changes: it is the heartbeat that
    /// keeps this node's principals online for the other nodes.
    var needsHeartbeat: Bool { get }

    /// Records this node's net changes since the last call (`joined`: principals that got their
    /// first connection here, `left`: that lost their last one here) and returns the changes the
    /// whole gateway sees: who was offline everywhere and is now online, and who is now offline
    /// everywhere (including the principals of nodes that stopped beating). Throws when the
    /// changes could not be recorded (the caller keeps them for the next tick).
    func update(joined: [String], left: [String]) throws(GatewayError) -> (joined: [String], left: [String])

    /// Which of `principals` have a connection on any node.
    func online(_ principals: [String]) throws(GatewayError) -> Set<String>
}
