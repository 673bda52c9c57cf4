"""SaslHandshake (key 17): pick a SASL mechanism. v0: raw SASL frames follow; v1: SaslAuthenticate."""
from kafkapy.protocol.schema import INT16, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=17, name="SaslHandshake", min_version=0, max_version=1, flexible_since=None,
    request=Schema(
        Field("mechanism", STRING),
    ),
    response=Schema(
        Field("error_code", INT16),
        Field("mechanisms", ArrayOf(STRING)),
    ),
)
