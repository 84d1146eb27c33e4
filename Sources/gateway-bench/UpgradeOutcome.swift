import NIOCore

/// Completes once per connection attempt. Only touched on the channel's event loop, so a
/// plain flag guards against completing the promise twice (timeout, error and close can race).
final class UpgradeOutcome {
    let promise: EventLoopPromise<Void>
    private(set) var isDone = false

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func succeed() {
        guard !isDone else { return }
        isDone = true
        promise.succeed(())
    }

    func fail(_ error: Error) {
        guard !isDone else { return }
        isDone = true
        promise.fail(error)
    }
}
