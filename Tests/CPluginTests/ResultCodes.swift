// The ABI's result codes as gw_result values (C's anonymous enum imports as Int).
import CGatewayPlugin

enum Code {
    static let ok = gw_result(GW_OK)
    static let skip = gw_result(GW_SKIP)
    static let reject = gw_result(GW_REJECT)
    static let drop = gw_result(GW_DROP)
    static let error = gw_result(GW_ERROR)
}
