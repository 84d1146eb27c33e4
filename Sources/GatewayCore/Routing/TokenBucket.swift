/// A token bucket: `rate` tokens per second, at most `burst` saved up. Not thread-safe: each
/// WebSocket connection owns one and uses it on its event loop.
public struct TokenBucket: Sendable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var lastNanoseconds: UInt64

    public init(rate: Int, burst: Int, nowNanoseconds: UInt64) {
        self.rate = Double(rate)
        self.burst = Double(max(burst, 1))
        self.tokens = Double(max(burst, 1))
        self.lastNanoseconds = nowNanoseconds
    }

    /// Takes one token if there is one.
    public mutating func take(nowNanoseconds: UInt64) -> Bool {
        if nowNanoseconds > lastNanoseconds {
            tokens = min(burst, tokens + Double(nowNanoseconds - lastNanoseconds) * rate / 1e9)
            lastNanoseconds = nowNanoseconds
        }
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
