import FoundationEssentials
import Glibc
import Core
import YAMLSubset
import Basics

extension ConfigLoader {
    static let retentionKeys = ["events", "webhook_deliveries"]

    /// Reads the optional top-level `retention` block: `{events: 30d, webhook_deliveries: 7d}`.
    static func retention(_ node: YAMLNode, reader: ConfigReader) throws(ConfigError) -> RetentionSettings {
        var settings = RetentionSettings()
        if reader.isNull(node) { return settings }
        let entries = try reader.mapping(node, "\"retention\"")
        try reader.checkKeys(entries, allowed: retentionKeys, "in \"retention\"")
        if let events = node["events"], !reader.isNull(events) {
            settings.events = try reader.duration(events, "\"events\" in \"retention\"")
        }
        if let deliveries = node["webhook_deliveries"], !reader.isNull(deliveries) {
            settings.webhookDeliveries = try reader.duration(deliveries, "\"webhook_deliveries\" in \"retention\"")
        }
        return settings
    }
}
