import GatewayCore
import GatewayJSON
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The clock of offline delivery: every poll interval, if no run is in progress, one run of
/// OfflineDelivery.runDue on the blocking pool (messengers block on the network, so never on an
/// event loop). Due times live in the store, so a restart loses no timer: the first tick after
/// start finds everything that came due while the gateway was down.
final class OfflineScheduler: Sendable {
    private let delivery: OfflineDelivery
    private let loop: EventLoop
    private let pool: NIOThreadPool
    private let interval: TimeAmount
    private let route: @Sendable (JSON, DeliveryInstructions.Fallback?) -> Void
    private let state = NIOLockedValueBox(State())

    private struct State {
        var task: RepeatedTask?
        var running = false
        var stopped = false
    }

    /// `route` routes a held event that came due (the router's second half).
    init(delivery: OfflineDelivery, loop: EventLoop, pool: NIOThreadPool, intervalMilliseconds: Int,
         route: @escaping @Sendable (JSON, DeliveryInstructions.Fallback?) -> Void) {
        self.delivery = delivery
        self.loop = loop
        self.pool = pool
        self.interval = .milliseconds(Int64(intervalMilliseconds))
        self.route = route
    }

    func start() {
        let task = loop.scheduleRepeatedTask(initialDelay: .zero, delay: interval) { [self] _ in tick() }
        state.withLockedValue { $0.task = task }
    }

    /// Stops ticking and waits for a run in progress (its sends finish and are recorded, so a
    /// restart does not send them again).
    func stop() {
        let task = state.withLockedValue { state -> RepeatedTask? in
            state.stopped = true
            return state.task
        }
        let done = loop.makePromise(of: Void.self)
        if let task { task.cancel(promise: done) } else { done.succeed() }
        try? done.futureResult.wait()
        while state.withLockedValue({ $0.running }) { usleep(10_000) }
    }

    private func tick() {
        let claimed = state.withLockedValue { state -> Bool in
            guard !state.running, !state.stopped else { return false }
            state.running = true
            return true
        }
        guard claimed else { return }
        pool.submit { [self] _ in
            // Keep going while there is due work (a backlog after a restart), one batch at a time.
            while !state.withLockedValue({ $0.stopped }),
                  delivery.runDue(route: route) > 0 {}
            state.withLockedValue { $0.running = false }
        }
    }
}
