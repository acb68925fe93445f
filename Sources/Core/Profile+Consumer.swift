import Basics
import PluginProtocol

extension Profile {
    /// `consumer: "*"`: the profile is open to every consumer token.
    public static let anyConsumer = "*"

    /// Whether a consumer token named `consumer` may create sandboxes from this profile: the
    /// profile names it as its consumer, or is open to all (`consumer: "*"`). A profile without a
    /// `consumer` is for operators only. Operators may use every profile (the caller decides that).
    public func isOpen(to consumer: String) -> Bool {
        self.consumer == consumer || self.consumer == Self.anyConsumer
    }
}
