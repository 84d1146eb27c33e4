// The current chain, swapped atomically on reload. Readers take one snapshot per event and use
// it for every hook of that event, so an event never sees half of an old and half of a new chain.
import Synchronization

public final class ChainReference: Sendable {
    private let chain: Mutex<PluginChain>

    public init(_ chain: PluginChain) {
        self.chain = Mutex(chain)
    }

    public var current: PluginChain {
        chain.withLock { $0 }
    }

    /// Installs `newChain`. The old one is released here; its instances are destroyed once the
    /// last in-flight event holding it lets go.
    public func replace(with newChain: PluginChain) {
        let old = chain.withLock { chain in
            defer { chain = newChain }
            return chain
        }
        _ = old  // released after the lock, so its deinit never runs under our lock
    }
}
