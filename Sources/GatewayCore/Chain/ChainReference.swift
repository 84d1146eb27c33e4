// The current chain, swapped atomically on reload. Readers take one snapshot per event and use
// it for every hook of that event, so an event never sees half of an old and half of a new chain.
import Foundation

public final class ChainReference: @unchecked Sendable {
    private let lock = NSLock()
    private var chain: PluginChain

    public init(_ chain: PluginChain) {
        self.chain = chain
    }

    public var current: PluginChain {
        lock.lock()
        defer { lock.unlock() }
        return chain
    }

    /// Installs `newChain`. The old one is released here; its instances are destroyed once the
    /// last in-flight event holding it lets go.
    public func replace(with newChain: PluginChain) {
        lock.lock()
        let old = chain
        chain = newChain
        lock.unlock()
        _ = old  // released after the lock, so its deinit never runs under our lock
    }
}
