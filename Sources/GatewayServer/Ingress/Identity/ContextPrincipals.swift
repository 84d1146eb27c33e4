import GatewayAuth
import GatewayCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The principals a site's context service gives each token (`[auth] context_url`), asked once
/// per token and kept until the token expires.
///
/// - The call runs on `pool` (a few threads of its own), never on an event loop; the caller
///   gets a future on its own loop.
/// - Connections opening at once with the same token share one call.
/// - Each caller gets an answer within `timeout`, time spent waiting for a free pool thread
///   included (`auth.context_timeout`).
/// - At most `capacity` tokens are kept: expired ones go first, then arbitrary ones. Tokens
///   without `exp` are not kept (nothing would tell when the answer goes stale).
/// - Failures are not kept: the next connection asks again.
final class ContextPrincipals: Sendable {
    typealias Answer = Result<SiteContext, GatewayError>

    private struct Entry {
        let context: SiteContext
        let expiresAt: Int
    }
    private struct State {
        var entries: [String: Entry] = [:]
        var waiting: [String: [EventLoopPromise<Answer>]] = [:]
    }

    private let state = NIOLockedValueBox(State())
    private let fetch: @Sendable (_ token: String, _ timeoutMilliseconds: Int) -> Answer
    private let pool: NIOThreadPool
    private let timeout: TimeAmount
    private let capacity: Int

    init(client: ContextServiceClient, pool: NIOThreadPool, timeout: TimeAmount, capacity: Int = 4096) {
        self.fetch = { token, milliseconds in client.fetch(token: token, timeoutMilliseconds: milliseconds) }
        self.pool = pool
        self.timeout = timeout
        self.capacity = capacity
    }

    /// The kept answer for `token`, if any and the token has not expired.
    func cached(token: String, now: Int) -> SiteContext? {
        state.withLockedValue { state in
            guard let entry = state.entries[token] else { return nil }
            guard entry.expiresAt > now else {
                state.entries.removeValue(forKey: token)
                return nil
            }
            return entry.context
        }
    }

    /// The answer for `token` (kept, or asked now), completed on `eventLoop`.
    func resolve(token: String, expiresAt: Int?, now: Int, on eventLoop: EventLoop) -> EventLoopFuture<Answer> {
        let promise = eventLoop.makePromise(of: Answer.self)
        let (kept, first) = state.withLockedValue { state -> (SiteContext?, Bool) in
            if let entry = state.entries[token], entry.expiresAt > now { return (entry.context, false) }
            let first = state.waiting[token] == nil
            state.waiting[token, default: []].append(promise)
            return (nil, first)
        }
        if let kept {
            promise.succeed(.success(kept))
            return promise.futureResult
        }
        if first { ask(token: token, expiresAt: expiresAt, now: now) }
        return promise.futureResult
    }

    /// Forgets every answer (SIGHUP: a site that changed a user's groups can have them re-read).
    func removeAll() {
        state.withLockedValue { $0.entries.removeAll() }
    }

    private func ask(token: String, expiresAt: Int?, now: Int) {
        let deadline = NIODeadline.now() + timeout
        let fetch = self.fetch, timeout = self.timeout
        pool.submit { poolState in
            let answer: Answer
            let remaining = (deadline - .now()).nanoseconds / 1_000_000
            if poolState != .active {
                answer = .failure(ContextFailure.unavailable("the gateway is shutting down"))
            } else if remaining <= 0 {
                answer = .failure(ContextFailure.timeout(Double(timeout.nanoseconds) / 1e9))
            } else {
                answer = fetch(token, Int(remaining))
            }
            self.finish(token: token, expiresAt: expiresAt, now: now, with: answer)
        }
    }

    private func finish(token: String, expiresAt: Int?, now: Int, with answer: Answer) {
        let waiters = state.withLockedValue { state -> [EventLoopPromise<Answer>] in
            if case .success(let context) = answer, let expiresAt {
                if state.entries.count >= capacity { evict(&state.entries, now: now) }
                state.entries[token] = Entry(context: context, expiresAt: expiresAt)
            }
            return state.waiting.removeValue(forKey: token) ?? []
        }
        for promise in waiters { promise.succeed(answer) }
    }

    /// Makes room for one more: the expired entries, else an arbitrary one.
    private func evict(_ entries: inout [String: Entry], now: Int) {
        entries = entries.filter { $0.value.expiresAt > now }
        while entries.count >= capacity, let any = entries.keys.first { entries.removeValue(forKey: any) }
    }
}
