import GatewayCore
import GatewayJSON

/// GET /healthz and GET /metrics: this node's connections, the chain, the engine's state.
struct StatusRoutes: Sendable {
    let delivery: any LocalDelivery
    let engine: any EventEngine
    let chain: ChainReference
    let metrics: GatewayMetrics

    /// 200 {"status": "ok"} while the engine is healthy; 503 {"status": "degraded"} otherwise
    /// (a load balancer then sends new clients elsewhere).
    func health() -> HTTPResponse {
        let engineHealth = engine.health
        let body = JSON.object()
        body.set("status", engineHealth.state == .ok ? "ok" : "degraded")
        body.set("connections", .integer(delivery.connectionCount))
        body.set("plugins", .strings(chain.current.plugins.map(\.name)))
        let engineState = JSON.object()
        engineState.set("kind", engine.kind)
        engineState.set("state", engineHealth.state.rawValue)
        if let reason = engineHealth.reason { engineState.set("reason", reason) }
        body.set("engine", engineState)
        return .json(engineHealth.state == .ok ? .ok : .serviceUnavailable, body)
    }

    func metricsText() -> HTTPResponse {
        metrics.engineUp(engine.health.state == .ok)
        var text: [UInt8] = []
        metrics.registry.emit(into: &text)
        return HTTPResponse(status: .ok, contentType: "text/plain; version=0.0.4", body: text)
    }
}
