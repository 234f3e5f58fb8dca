"""Shim of TRex's ``trex_stl_lib.api`` for tests/loadtest: the names loadtest/trex uses.

TEST SHIM, NOT TRex. tests/loadtest/test_loadtest.py imports the STL profiles against this
module when TRex's own library is absent (and next to it, to compare the two). It follows
TRex's client library (trex/stl/trex_stl_streams.py and trex_stl_packet_builder_scapy.py,
v3.04) in what a profile can observe:

- the signatures and defaults of STLStream, STLPktBuilder, STLTXCont, STLFlowStats,
  STLScVmRaw, STLVmFlowVar, STLVmWrFlowVar, STLVmFixIpv4, STLVmFixChecksumHw,
  CTRexVmInsFixHwCs and STLProfile.load_py (tunables passed as TRex v3 passes them:
  ``direction``, ``port_id`` and a ``tunables`` argv list; SystemExit from the profile,
  such as argparse's error, gives None);
- their argument checks (variable sizes and operations, min <= init <= max, values that
  fit the variable, a variable defined once, a write naming a defined variable, a
  checksum instruction's offsets);
- the field-engine compilation: flow variables first in their order, then the other
  instructions in theirs; ``"IP.src"``-style names resolved to byte offsets in the built
  packet (layer by ``name`` or class name, ``IP:1`` for the second one), a missing layer
  or field an error;
- the packet as TRex builds it: Ether addresses the profile leaves unset are TRex's
  fixed defaults, dst 00:00:00:01:00:00 and src 00:00:00:02:00:00 (TRex's scapy resolves
  nothing; the server writes the port's MACs from trex_cfg.yaml at transmit unless the
  stream's flags say the packet's own MACs win), a trailing Padding layer removed;
- ``STLStream.to_json()``: the dictionary TRex sends its server (flags, mode, isg,
  packet as base64, vm instructions, flow_stats).

Anything else is absent on purpose (a profile using it fails with NameError or
NotImplementedError). Nothing here opens a socket: the scapy MAC fields are made
non-resolving exactly as TRex's bundled scapy has them.
"""

import base64
import os
import sys
import traceback
import importlib.util

from scapy.all import *  # noqa: F401,F403  (TRex's api re-exports scapy the same way)
from scapy.all import Ether, Packet, NoPayload, raw
import scapy.fields
from scapy.fields import MACField
from scapy.layers import l2 as _l2

SHIM = True


# TRex's bundled scapy comments out the resolution in these two fields' i2h (a profile's
# Ether() gets zero MACs, and building a packet sends no ARP request): the same here.
def _mac_i2h_no_resolve(self, pkt, x):
    return MACField.i2h(self, pkt, x)


_l2.DestMACField.i2h = _mac_i2h_no_resolve
_l2.SourceMACField.i2h = _mac_i2h_no_resolve

# ... and gives Ether fixed defaults instead (TRex's l2.py: "Avoid lookup by putting fixed
# fields"): dst 00:00:00:01:00:00, src 00:00:00:02:00:00.
for _f in Ether.fields_desc:
    if _f.name == "dst":
        _f.default = "00:00:00:01:00:00"
    elif _f.name == "src":
        _f.default = "00:00:00:02:00:00"
for _cache in (Packet.class_default_fields, Packet.class_default_fields_ref,
               Packet.class_fieldtype, Packet.class_packetfields):
    _cache.pop(Ether, None)

try:
    basestring
except NameError:
    basestring = str


class TRexError(Exception):
    pass


class CTRexPacketBuildException(Exception):
    def __init__(self, code, message):
        self.code = code
        self.message = message
        super(CTRexPacketBuildException, self).__init__("[errcode:%s] %s" % (code, message))


def _validate_type(name, value, types):
    if not isinstance(types, (list, tuple)):
        types = (types,)
    types = tuple(types)
    # bool is an int in Python; TRex's validate_type accepts it for int too
    if not isinstance(value, types):
        raise TRexError("result of type %s is not %s for %s" % (type(value).__name__, types, name))


# ---------------------------------------------------------------------------- TX modes

class STLTXMode(object):
    def __init__(self, pps=None, bps_L1=None, bps_L2=None, percentage=None):
        args = [pps, bps_L1, bps_L2, percentage]
        if all(x is None for x in args):
            pps = 1.0
        elif sum(x is not None for x in args) != 1:
            raise TRexError("exactly one of pps, bps_L1, bps_L2, percentage")
        self.fields = {"rate": {}}
        for key, value in (("pps", pps), ("bps_L1", bps_L1), ("bps_L2", bps_L2),
                           ("percentage", percentage)):
            if value is not None:
                _validate_type(key, value, (float, int))
                if key == "percentage" and not 0 < value <= 100:
                    raise TRexError("percentage %r not in (0, 100]" % value)
                self.fields["rate"] = {"type": key, "value": value}
                break

    def to_json(self):
        return dict(self.fields)


class STLTXCont(STLTXMode):
    """Continuous mode."""

    def __init__(self, **kwargs):
        super(STLTXCont, self).__init__(**kwargs)
        self.fields["type"] = "continuous"

    def __str__(self):
        return "Continuous"


# ---------------------------------------------------------------------------- flow stats

class STLFlowStatsInterface(object):
    def __init__(self, pg_id, vxlan, ieee_1588):
        self.fields = {"enabled": True, "stream_id": pg_id, "vxlan": vxlan, "ieee_1588": ieee_1588}

    def to_json(self):
        return dict(self.fields)

    @staticmethod
    def defaults():
        return {"enabled": False}


class STLFlowStats(STLFlowStatsInterface):
    def __init__(self, pg_id, vxlan=False, ieee_1588=False):
        super(STLFlowStats, self).__init__(pg_id, vxlan, ieee_1588)
        self.fields["rule_type"] = "stats"


# ---------------------------------------------------------------------------- field engine

_VAR_SIZES = (1, 2, 4, 8)
_VAR_OPS = ("inc", "dec", "random")


def _max_by_size(size):
    return (1 << (8 * size)) - 1


def _ipv4_to_num(text):
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        raise CTRexPacketBuildException(-11, "invalid IPv4 address %r" % text)
    n = 0
    for p in parts:
        n = (n << 8) | int(p)
    return n


def _convert_val(val):
    if isinstance(val, int) and not isinstance(val, bool):
        return val
    if isinstance(val, basestring):
        return _ipv4_to_num(val)
    raise CTRexPacketBuildException(-11, "init val invalid %s" % (val,))


class CTRexVmInsFixHwCs(object):
    L4_TYPE_UDP = 11
    L4_TYPE_TCP = 13
    L4_TYPE_IP = 17


class _Desc(object):
    def get_var_name(self):
        return None

    def get_var_ref(self):
        return None

    def get_next_var_name(self):
        return None

    def compile(self, parent):
        pass


class STLVmFlowVar(_Desc):
    def __init__(self, name, init_value=None, min_value=0, max_value=255, size=4, step=1,
                 op="inc", value_list=None, split_to_cores=True, next_var=None):
        _validate_type("name", name, basestring)
        self.name = name
        if size not in _VAR_SIZES:
            raise CTRexPacketBuildException(-11, "Flow var has invalid size %d " % size)
        self.size = size
        if op not in _VAR_OPS:
            raise CTRexPacketBuildException(-11, "Flow var has invalid op %s " % op)
        self.op = op
        if next_var is not None:
            _validate_type("next_var", next_var, basestring)
            if op == "random":
                raise CTRexPacketBuildException(-11, "If next_var is defined then op can't be random. Check %s " % name)
            if next_var == name:
                raise CTRexPacketBuildException(-11, "Self loops are forbidden.")
        self.next_var = next_var
        _validate_type("split_to_cores", split_to_cores, bool)
        self.split_to_cores = split_to_cores
        self.step = _convert_val(step)
        if self.step <= 0:
            raise CTRexPacketBuildException(-11, "step %d must be more than 0" % self.step)
        if value_list is not None:
            raise NotImplementedError("trex_shim: STLVmFlowVar(value_list=...) is not implemented")
        if init_value is None:
            init_value = max_value if op == "dec" else min_value
        self.init_value = _convert_val(init_value)
        self.min_value = _convert_val(min_value)
        self.max_value = _convert_val(max_value)
        for v in (self.min_value, self.max_value, self.init_value, self.step):
            if v > _max_by_size(size):
                raise CTRexPacketBuildException(-11, "requested value %d with size %d is bigger than %s"
                                                % (v, size, hex(_max_by_size(size))))
        if self.min_value > self.max_value:
            raise CTRexPacketBuildException(-11, "max %d is lower than min %d " % (self.max_value, self.min_value))
        if not self.min_value <= self.init_value <= self.max_value:
            raise CTRexPacketBuildException(-11, "init_value must be between min_value %d and max_value %d"
                                            % (self.min_value, self.max_value))
        pad = (self.max_value - self.min_value + 1) % self.step
        if pad:
            step_pad = self.step - pad
            if (op == "inc" and _max_by_size(8) - self.max_value < step_pad) or \
               (op == "dec" and self.min_value < step_pad):
                raise CTRexPacketBuildException(-11, "could not pad range to be a true cycle")

    def get_var_name(self):
        return [self.name]

    def get_next_var_name(self):
        return self.next_var

    def get_json(self):
        return {"type": "flow_var", "name": self.name, "size": self.size, "op": self.op,
                "next_var": self.next_var, "split_to_cores": self.split_to_cores,
                "init_value": self.init_value, "min_value": self.min_value,
                "max_value": self.max_value, "step": self.step}


class STLVmWrFlowVar(_Desc):
    def __init__(self, fv_name, pkt_offset, offset_fixup=0, add_val=0, is_big=True):
        _validate_type("fv_name", fv_name, basestring)
        _validate_type("offset_fixup", offset_fixup, int)
        _validate_type("add_val", add_val, int)
        _validate_type("is_big", is_big, bool)
        self.fv_name = fv_name
        self.pkt_offset = pkt_offset
        self.offset_fixup = offset_fixup
        self.add_val = add_val
        self.is_big = is_big

    def get_var_ref(self):
        return self.fv_name

    def compile(self, parent):
        if isinstance(self.pkt_offset, basestring):
            self.pkt_offset = parent._name_to_offset(self.pkt_offset)[0]

    def get_json(self):
        return {"type": "write_flow_var", "name": self.fv_name,
                "pkt_offset": self.pkt_offset + self.offset_fixup,
                "add_value": self.add_val, "is_big_endian": self.is_big}


class STLVmFixIpv4(_Desc):
    def __init__(self, offset):
        self.offset = offset

    def compile(self, parent):
        if isinstance(self.offset, basestring):
            self.offset = parent._pkt_layer_offset(self.offset)

    def get_json(self):
        return {"type": "fix_checksum_ipv4", "pkt_offset": self.offset}


class STLVmFixChecksumHw(_Desc):
    def __init__(self, l3_offset, l4_offset, l4_type):
        self.l3_offset = l3_offset
        self.l4_offset = l4_offset
        self.l4_type = l4_type
        self.l2_len = 0
        self.l3_len = 0

    def compile(self, parent):
        self.l2_len = parent._pkt_layer_offset(self.l3_offset) if isinstance(self.l3_offset, basestring) \
            else self.l3_offset
        if isinstance(self.l4_offset, basestring):
            self.l4_offset = parent._pkt_layer_offset(self.l4_offset)
        if self.l4_type != CTRexVmInsFixHwCs.L4_TYPE_IP or self.l4_offset != 0:
            assert self.l4_offset >= self.l2_len + 8, "l4_offset should be higher than l3_offset offset"
            self.l3_len = self.l4_offset - self.l2_len
        else:
            self.l3_len = 0

    def get_json(self):
        for name in ("l2_len", "l3_len", "l4_type"):
            _validate_type(name, getattr(self, name), int)
        return {"type": "fix_checksum_hw", "l2_len": self.l2_len, "l3_len": self.l3_len,
                "l4_type": self.l4_type}


class STLScVmRaw(object):
    def __init__(self, list_of_commands=None, cache_size=None):
        self.cache_size = cache_size
        self.commands = [] if list_of_commands is None else list_of_commands

    def add_cmd(self, cmd):
        self.commands.append(cmd)


# ---------------------------------------------------------------------------- packets

def _layers(pkt):
    """(layer, byte offset) for each layer of a built packet."""
    out, offset, p = [], 0, pkt
    while p is not None and not isinstance(p, NoPayload):
        out.append((p, offset))
        offset += len(raw(p)) - len(raw(p.payload))
        p = p.payload
    return out


_BitField = getattr(scapy.fields, "_BitField", scapy.fields.BitField)


def _field_offsets(layer):
    """name -> (byte offset in the layer, size in bytes) of a built layer's fields."""
    out, bits = {}, 0
    for f in layer.fields_desc:
        if isinstance(f, _BitField):
            out[f.name] = (bits // 8, max(1, (f.size + 7) // 8))
            bits += f.size
        else:
            n = len(f.addfield(layer, b"", layer.getfieldval(f.name)))
            out[f.name] = (bits // 8, n)
            bits += 8 * n
    return out


class STLPktBuilder(object):
    def __init__(self, pkt=None, pkt_buffer=None, vm=None, path_relative_to_profile=False,
                 build_raw=False, remove_fcs=True):
        _validate_type("pkt", pkt, (type(None), str, Packet))
        _validate_type("pkt_buffer", pkt_buffer, (type(None), bytes))
        if isinstance(pkt, str) or pkt_buffer is not None or build_raw or path_relative_to_profile:
            raise NotImplementedError("trex_shim: STLPktBuilder takes a scapy packet only")
        if pkt is None:
            raise CTRexPacketBuildException(-14, "Packet is empty")
        self.pkt = pkt
        # decided on the profile's packet, before _build() makes every field concrete
        self._default_src_mac = not (isinstance(pkt, Ether) and "src" in pkt.fields)
        self._default_dst_mac = not (isinstance(pkt, Ether) and "dst" in pkt.fields)
        self.remove_fcs = remove_fcs
        self.metadata = ""
        self.vm_scripts = []
        self.vm_json = None
        self.is_pkt_built = False
        if vm is not None:
            if not isinstance(vm, (STLScVmRaw, list)):
                raise CTRexPacketBuildException(-14, "Bad value for variable vm.")
            raw_vm = vm if isinstance(vm, STLScVmRaw) else STLScVmRaw(vm)
            self.vm_scripts.append(STLScVmRaw(list(raw_vm.commands), raw_vm.cache_size))
        if self.vm_scripts:
            self.compile()

    # TRex: a packet without explicit MACs takes the port's (trex_cfg.yaml port_info)
    def is_default_src_mac(self):
        return self._default_src_mac

    def is_default_dst_mac(self):
        return self._default_dst_mac

    def _build(self):
        if self.is_pkt_built:
            return
        if self.remove_fcs and self.pkt.lastlayer().name == "Padding":
            self.pkt.lastlayer().underlayer.remove_payload()
        self.pkt = self.pkt.__class__(raw(self.pkt))   # every field concrete, as built
        self.is_pkt_built = True

    def _find_layer(self, name, cnt, by_class):
        self._build()
        seen = cnt
        for layer, offset in _layers(self.pkt):
            if name == layer.name or (by_class and name == layer.__class__.__name__):
                if seen == 0:
                    return layer, offset
                seen -= 1
        raise CTRexPacketBuildException(-11, "no layer %s-%d" % (name, cnt))

    @staticmethod
    def _split_layer(desc):
        parts = desc.split(":")
        return parts[0], (int(parts[1]) if len(parts) > 1 else 0)

    def _pkt_layer_offset(self, layer_name):
        name, cnt = self._split_layer(layer_name)
        return self._find_layer(name, cnt, by_class=False)[1]

    def _name_to_offset(self, field_name):
        parts = field_name.split(".")
        if len(parts) != 2:
            raise CTRexPacketBuildException(-11, "Field desription should be layer:cnt.field Example: IP.src or IP:1.src")
        name, cnt = self._split_layer(parts[0].replace("|", "."))
        layer, offset = self._find_layer(name, cnt, by_class=True)
        fields = _field_offsets(layer)
        if parts[1] not in fields:
            raise CTRexPacketBuildException(-11, "No layer %s-%d." % (parts[1], cnt))
        f_off, f_size = fields[parts[1]]
        return offset + f_off, f_size

    def compile(self):
        instructions, cache = [], 0
        for script in self.vm_scripts:
            names = set()
            for desc in script.commands:
                for var in desc.get_var_name() or []:
                    if var in names:
                        raise CTRexPacketBuildException(-11, "Variable %s defined twice " % var)
                    names.add(var)
            for desc in script.commands:
                ref = desc.get_var_ref()
                if ref and ref not in names:
                    raise CTRexPacketBuildException(-11, "Variable %s does not exist  " % ref)
            flow_vars = [d for d in script.commands if isinstance(d, STLVmFlowVar)]
            for var in flow_vars:
                if var.next_var and var.next_var not in names:
                    raise CTRexPacketBuildException(-11, "Variable %s does not exist  " % var.next_var)
                if var.next_var:
                    raise NotImplementedError("trex_shim: next_var ordering is not implemented")
            ordered = flow_vars + [d for d in script.commands if not isinstance(d, STLVmFlowVar)]
            for desc in ordered:
                desc.compile(self)
                instructions.append(desc.get_json())
            if script.cache_size:
                _validate_type("obj.cache_size", script.cache_size, int)
                cache = script.cache_size
        self.vm_json = {"instructions": instructions}
        if cache > 0:
            self.vm_json["cache"] = cache

    def _get_pkt_as_str(self):
        self._build()
        return raw(self.pkt)

    def to_json(self):
        return {"packet": {"binary": base64.b64encode(self._get_pkt_as_str()).decode(),
                           "meta": self.metadata},
                "vm": self.vm_json if self.vm_json is not None else {"instructions": []}}


# ---------------------------------------------------------------------------- streams

class STLStream(object):
    def __init__(self, name=None, packet=None, mode=None, enabled=True, self_start=True,
                 isg=0.0, flow_stats=None, next=None, stream_id=None, action_count=0,
                 random_seed=0, mac_src_override_by_pkt=None, mac_dst_override_mode=None,
                 dummy_stream=False, start_paused=False, core_id=-1):
        mode = STLTXCont(pps=1) if mode is None else mode
        _validate_type("name", name, (type(None), int, basestring))
        _validate_type("next", next, (type(None), int, basestring))
        _validate_type("mode", mode, STLTXMode)
        _validate_type("packet", packet, (type(None), STLPktBuilder))
        _validate_type("flow_stats", flow_stats, (type(None), STLFlowStatsInterface))
        _validate_type("enabled", enabled, bool)
        _validate_type("self_start", self_start, bool)
        _validate_type("isg", isg, (int, float))
        _validate_type("stream_id", stream_id, (type(None), int))
        _validate_type("random_seed", random_seed, int)
        _validate_type("dummy_stream", dummy_stream, bool)
        _validate_type("start_paused", start_paused, bool)
        _validate_type("core_id", core_id, int)
        if isinstance(mode, STLTXCont) and next is not None:
            raise TRexError("Continuous stream cannot have a next stream ID")
        if packet is None:
            raise NotImplementedError("trex_shim: STLStream without a packet is not implemented")
        self.name, self.next, self.id = name, next, stream_id
        src_override = (0 if packet.is_default_src_mac() else 1) if mac_src_override_by_pkt is None \
            else int(mac_src_override_by_pkt)
        dst_override = (0 if packet.is_default_dst_mac() else 1) if mac_dst_override_mode is None \
            else int(mac_dst_override_mode)   # 1 = STLStreamDstMAC_PKT
        self.fields = {
            "flags": (src_override & 1) + ((dst_override & 3) << 1) + (int(dummy_stream) << 3),
            "action_count": action_count,
            "enabled": enabled,
            "self_start": self_start,
            "start_paused": start_paused,
            "isg": isg,
            "core_id": core_id,
        }
        if random_seed != 0:
            self.fields["random_seed"] = random_seed
        self.fields["mode"] = mode.to_json()
        pkt_json = packet.to_json()
        self.fields["packet"] = pkt_json["packet"]
        self.fields["vm"] = pkt_json["vm"]
        self.pkt = base64.b64decode(self.fields["packet"]["binary"])
        self.fields["flow_stats"] = flow_stats.to_json() if flow_stats else STLFlowStats.defaults()

    def to_json(self):
        return dict(self.fields)

    def get_pkt(self):
        return self.pkt

    def get_pkt_len(self, count_crc=True):
        return len(self.pkt) + (4 if count_crc else 0)


class STLProfile(object):
    def __init__(self, streams=None):
        if streams is None:
            streams = []
        if not isinstance(streams, list):
            streams = [streams]
        for s in streams:
            _validate_type("streams", s, STLStream)
        self.streams = streams
        self.meta = None

    def get_streams(self):
        return self.streams

    @staticmethod
    def get_module_tunables(module):
        func = module.register().get_streams
        argc = func.__code__.co_argcount
        names = func.__code__.co_varnames[1:argc]
        defaults = func.__defaults__
        if defaults is None:
            return {}
        if len(defaults) != argc - 1:
            raise TRexError("Module should provide default values for all arguments on get_streams()")
        return dict(zip(names, defaults))

    @staticmethod
    def load_py(python_file, direction=0, port_id=0, **kwargs):
        """As TRex v3: old-style tunables become an argv list under 'tunables'."""
        if "tunables" not in kwargs:
            argv = []
            for key in kwargs:
                argv.extend(["--{}".format(key), str(kwargs[key])])
            kwargs["tunables"] = argv
        if not os.path.isfile(python_file):
            raise TRexError("File '{0}' does not exist".format(python_file))
        basedir = os.path.dirname(python_file)
        sys.path.insert(0, basedir)
        dont_write_bytecode = sys.dont_write_bytecode
        try:
            sys.dont_write_bytecode = True
            name = os.path.basename(python_file).split(".")[0]
            spec = importlib.util.spec_from_file_location(name, python_file)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            tunables = STLProfile.get_module_tunables(module)
            try:
                streams = module.register().get_streams(direction=direction, port_id=port_id, **kwargs)
            except SystemExit:
                return None
            profile = STLProfile(streams)
            profile.meta = {"type": "python", "tunables": tunables}
            return profile
        except Exception:
            a, b, tb = sys.exc_info()
            x = "".join(traceback.format_list(traceback.extract_tb(tb)[1:])) + a.__name__ + ": " + str(b) + "\n"
            raise TRexError("\nPython Traceback follows:\n\n" + x)
        finally:
            sys.dont_write_bytecode = dont_write_bytecode
            sys.path.remove(basedir)
