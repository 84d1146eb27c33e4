/// How long to wait before the next attempt to reach Redis: doubling from `initial` up to
/// `maximum`, with ±20 % jitter so that several gateway nodes that lost Redis together do not
/// all knock at the same instant when it comes back.
public struct Backoff: Sendable {
    public let initial: Duration
    public let maximum: Duration
    private var next: Duration

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5)) {
        self.initial = initial
        self.maximum = maximum
        self.next = initial
    }

    /// The delay before the next attempt; each call doubles the one after (up to `maximum`).
    public mutating func delay<Generator: RandomNumberGenerator>(using generator: inout Generator) -> Duration {
        let base = next
        next = min(next * 2, maximum)
        let jitter = Double.random(in: 0.8...1.2, using: &generator)
        return base * jitter
    }

    public mutating func delay() -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(using: &generator)
    }

    /// After a success: the next failure waits `initial` again.
    public mutating func reset() { next = initial }
}
