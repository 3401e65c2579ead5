"""WS-Man request bodies for the benchmark, written as WinRM writes them (bench/wsman/run.sh).

    python3 wsman_requests.py get|noop|enumerate  > body.xml

Targets the test fixture of vsnapd-testd (namespace root/vsnapd/test, Vsnapd_TestElement).
"""

import sys
import uuid

NS = "root/vsnapd/test"
CLASS_URI = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Vsnapd_TestElement"
ANON = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"


def envelope(action, selectors, body, uri=CLASS_URI):
    sel = "".join('<w:Selector Name="%s">%s</w:Selector>' % kv for kv in selectors)
    return (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" '
        'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">'
        "<s:Header><a:To>http://windows-host:5986/wsman</a:To>"
        '<w:ResourceURI s:mustUnderstand="true">%s</w:ResourceURI>'
        '<a:ReplyTo><a:Address s:mustUnderstand="true">%s</a:Address></a:ReplyTo>'
        '<a:Action s:mustUnderstand="true">%s</a:Action>'
        '<w:MaxEnvelopeSize s:mustUnderstand="true">512000</w:MaxEnvelopeSize>'
        "<a:MessageID>uuid:%s</a:MessageID>"
        '<w:Locale xml:lang="en-US" s:mustUnderstand="false"/>'
        "<w:SelectorSet>%s</w:SelectorSet>"
        "<w:OperationTimeout>PT60.000S</w:OperationTimeout></s:Header>"
        "<s:Body>%s</s:Body></s:Envelope>"
    ) % (uri, ANON, action, str(uuid.uuid4()).upper(), sel, body)


def get(instance_id="E42"):
    return envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get",
                    [("__cimnamespace", NS), ("InstanceID", instance_id)], "")


def noop():
    return envelope(CLASS_URI + "/Noop", [("__cimnamespace", NS)],
                    '<p:Noop_INPUT xmlns:p="%s"/>' % CLASS_URI)


def enumerate_(max_elements):
    return envelope("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate", [("__cimnamespace", NS)],
                    "<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>%d</w:MaxElements></n:Enumerate>"
                    % max_elements)


def pull(context, max_elements):
    return envelope("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull", [("__cimnamespace", NS)],
                    "<n:Pull><n:EnumerationContext>%s</n:EnumerationContext><n:MaxElements>%d</n:MaxElements>"
                    "</n:Pull>" % (context, max_elements))


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "get":
        sys.stdout.write(get())
    elif what == "noop":
        sys.stdout.write(noop())
    elif what == "enumerate":
        sys.stdout.write(enumerate_(100))
    else:
        sys.exit("usage: wsman_requests.py get|noop|enumerate")
