// The "control thread" of the plugin header: entry functions, create() and destroy() run here,
// one at a time, never on an event loop.
import Dispatch

enum PluginControlQueue {
    static let queue = DispatchQueue(label: "gateway.plugin-control")
    private static let marker = DispatchSpecificKey<Bool>()
    private static let markQueue: Void = { queue.setSpecific(key: marker, value: true) }()

    /// Runs `work` on the control queue and waits; runs it inline when already there, so a
    /// caller on the control queue (a reload triggered from it) does not deadlock.
    static func sync<T>(_ work: () -> T) -> T {
        _ = markQueue
        if DispatchQueue.getSpecific(key: marker) == true { return work() }
        return queue.sync(execute: work)
    }

    static func async(_ work: @escaping @Sendable () -> Void) {
        _ = markQueue
        queue.async(execute: work)
    }
}
