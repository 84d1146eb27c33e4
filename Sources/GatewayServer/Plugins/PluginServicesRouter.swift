import Atomics
import GatewayCore
import GatewayJSON
import Logging
import NIOPosix

/// The ABI 1.3 host services, for real (PluginServiceDesk holds this once the server is built):
/// a plugin's own events go through the same pipeline as every other event, as a trusted
/// publisher named after its [[plugins]] entry, on the blocking pool — never on an event loop,
/// and never back to the responders or the guards; member states go through RoomService.
final class PluginServicesRouter: PluginServices {
    /// Plugin events queued or being routed at once; beyond it publish() refuses (a runaway bot
    /// must not fill the pool's queue without bound).
    static let maxInFlight = 1_000

    private let pipeline: EventPipeline
    private let rooms: RoomService
    private let pool: NIOThreadPool
    private let defaultHost: String
    private let logger: Logger
    private let inFlight = ManagedAtomic<Int>(0)

    init(pipeline: EventPipeline, rooms: RoomService, pool: NIOThreadPool, defaultHost: String, logger: Logger) {
        self.pipeline = pipeline
        self.rooms = rooms
        self.pool = pool
        self.defaultHost = defaultHost
        self.logger = logger
    }

    func publish(_ event: JSON, from entry: String) throws(GatewayError) {
        guard inFlight.wrappingIncrementThenLoad(ordering: .relaxed) <= Self.maxInFlight else {
            inFlight.wrappingDecrement(ordering: .relaxed)
            throw GatewayError(code: "host.publish_queue_full",
                               message: "\(Self.maxInFlight) events of plugins are already waiting to be routed; try again later.", status: 429)
        }
        let publisher = Publisher(id: entry, title: nil, trusted: true)
        pool.submit { [pipeline, logger, inFlight] state in
            defer { inFlight.wrappingDecrement(ordering: .relaxed) }
            guard case .active = state else { return }
            do throws(GatewayError) {
                _ = try pipeline.publishBlocking(event, from: publisher, ingress: .plugin)
            } catch {
                logger.warning("a plugin's event was refused", metadata: [
                    "plugin": "\(entry)", "code": "\(error.code)", "reason": "\(error.message)",
                ])
            }
        }
    }

    func setMemberState(room: String, member: String, state: String) throws(GatewayError) {
        guard let state = RoomMember.State(rawValue: state) else {
            throw .badRoomRequest("'\(state)' is not a member state; use open, closed or scripted.")
        }
        try rooms.setMemberState(state, member: member, room: room, fallbackHost: defaultHost)
    }
}
