"""POST /prompt validation, shaped like ComfyUI 0.3.64's execution.validate_prompt.

Returns the same (valid, error, good_outputs, node_errors) tuple and the same error dicts, so
bodies match the recordings in tests/fixtures/comfyui/http/prompt_error_*.json.
"""
from __future__ import annotations

from typing import Any, Callable

# The traceback ComfyUI reports for a link to a missing node (paths differ on a real install).
_INNER_TRACEBACK = [
    '  File "/fake-comfyui/execution.py", line 808, in validate_inputs\n'
    "    r = validate_inputs(prompt_id, prompt, o_id, validated)\n",
    '  File "/fake-comfyui/execution.py", line 788, in validate_inputs\n'
    "    o_class_type = prompt[o_id]['class_type']\n",
]


class _InnerKeyError(Exception):
    def __init__(self, key: str):
        super().__init__(repr(key))
        self.key = key

    def __str__(self) -> str:
        return repr(self.key)


def _types_match(received: str, expected: Any) -> bool:
    if not isinstance(expected, str) or expected == "COMBO":
        return True
    if received == "*" or expected == "*" or received == expected:
        return True
    return bool(set(received.split(",")) & set(expected.split(",")))


def _input_defs(info: dict) -> list[tuple[str, str, list]]:
    """(name, category, definition) in the node's declared input order."""
    inputs = info.get("input", {})
    order = info.get("input_order", {})
    out = []
    for category in ("required", "optional"):
        defs = inputs.get(category, {})
        names = order.get(category) or list(defs)
        for name in names:
            if name in defs:
                out.append((name, category, defs[name]))
    return out


def validate_prompt(
    prompt: dict,
    object_info: dict,
    custom_validators: dict[str, Callable[[str, Any], str | None]],
) -> tuple[bool, dict | None, list[str], dict]:
    if not isinstance(prompt, dict):
        raise TypeError("prompt must be an object")  # ComfyUI answers 500 here
    outputs = []
    for node_id, node in prompt.items():
        if "class_type" not in node:
            return False, {
                "type": "invalid_prompt",
                "message": "Cannot execute because a node is missing the class_type property.",
                "details": f"Node ID '#{node_id}'",
                "extra_info": {},
            }, [], {}
        info = object_info.get(node["class_type"])
        if info is None:
            return False, {
                "type": "invalid_prompt",
                "message": f"Cannot execute because node {node['class_type']} does not exist.",
                "details": f"Node ID '#{node_id}'",
                "extra_info": {},
            }, [], {}
        if info.get("output_node"):
            outputs.append(node_id)
    if not outputs:
        return False, {"type": "prompt_no_outputs", "message": "Prompt has no outputs",
                       "details": "", "extra_info": {}}, [], {}

    validated: dict[str, tuple[bool, list, str]] = {}

    def validate_node(node_id: str) -> tuple[bool, list, str]:
        if node_id in validated:
            return validated[node_id]
        node = prompt[node_id]
        inputs = node.get("inputs", {})
        info = object_info[node["class_type"]]
        errors: list[dict] = []
        valid = True
        validator = custom_validators.get(node["class_type"])
        for name, category, definition in _input_defs(info):
            input_type = definition[0]
            extra = definition[1] if len(definition) > 1 else {}
            config = [input_type, extra]
            if name not in inputs:
                if category == "required":
                    errors.append({"type": "required_input_missing", "message": "Required input is missing",
                                   "details": name, "extra_info": {"input_name": name}})
                continue
            val = inputs[name]
            if isinstance(val, list):
                if len(val) != 2:
                    errors.append({"type": "bad_linked_input",
                                   "message": "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                                   "details": name,
                                   "extra_info": {"input_name": name, "input_config": config, "received_value": val}})
                    continue
                source_id = str(val[0])
                if source_id not in prompt:
                    raise _InnerKeyError(source_id)
                source_info = object_info[prompt[source_id]["class_type"]]
                received = source_info["output"][val[1]]
                if not _types_match(received, input_type):
                    errors.append({"type": "return_type_mismatch",
                                   "message": "Return type mismatch between linked nodes",
                                   "details": f"{name}, received_type({received}) mismatch input_type({input_type})",
                                   "extra_info": {"input_name": name, "input_config": config,
                                                  "received_type": received, "linked_node": val}})
                    continue
                try:
                    if validate_node(source_id)[0] is False:
                        valid = False
                        continue
                except _InnerKeyError as ex:
                    valid = False
                    validated[source_id] = (False, [{
                        "type": "exception_during_inner_validation",
                        "message": "Exception when validating inner node",
                        "details": str(ex),
                        "extra_info": {"input_name": name, "input_config": config,
                                       "exception_message": str(ex), "exception_type": "KeyError",
                                       "traceback": list(_INNER_TRACEBACK), "linked_node": val},
                    }], source_id)
                    continue
                continue
            try:
                if input_type == "INT":
                    val = int(val)
                elif input_type == "FLOAT":
                    val = float(val)
                elif input_type == "STRING":
                    val = str(val)
                elif input_type == "BOOLEAN":
                    val = bool(val)
            except Exception as ex:  # noqa: BLE001 - mirrors ComfyUI's broad catch
                errors.append({"type": "invalid_input_type",
                               "message": f"Failed to convert an input value to a {input_type} value",
                               "details": f"{name}, {val}, {ex}",
                               "extra_info": {"input_name": name, "input_config": config,
                                              "received_value": val, "exception_message": str(ex)}})
                continue
            if validator is not None and name == "image":
                continue  # LoadImage validates its file itself, the combo list is not checked
            if "min" in extra and val < extra["min"]:
                errors.append({"type": "value_smaller_than_min",
                               "message": f"Value {val} smaller than min of {extra['min']}",
                               "details": name,
                               "extra_info": {"input_name": name, "input_config": config, "received_value": val}})
                continue
            if "max" in extra and val > extra["max"]:
                errors.append({"type": "value_bigger_than_max",
                               "message": f"Value {val} bigger than max of {extra['max']}",
                               "details": name,
                               "extra_info": {"input_name": name, "input_config": config, "received_value": val}})
                continue
            options = input_type if isinstance(input_type, list) else (
                extra.get("options") if input_type == "COMBO" else None)
            if options is not None and val not in options:
                list_info, input_config = (str(options), config) if len(options) <= 20 else (
                    f"(list of length {len(options)})", None)
                errors.append({"type": "value_not_in_list", "message": "Value not in list",
                               "details": f"{name}: '{val}' not in {list_info}",
                               "extra_info": {"input_name": name, "input_config": input_config,
                                              "received_value": val}})
                continue
        if validator is not None and "image" in inputs and not isinstance(inputs["image"], list):
            problem = validator("image", inputs["image"])
            if problem:
                errors.append({"type": "custom_validation_failed", "message": "Custom validation failed for node",
                               "details": f"image - {problem}", "extra_info": {"input_name": "image"}})
        result = (False, errors, node_id) if errors or not valid else (True, [], node_id)
        validated[node_id] = result
        return result

    good_outputs: list[str] = []
    failed: list[tuple[str, list]] = []
    node_errors: dict[str, dict] = {}
    for output_id in outputs:
        try:
            ok, reasons, _ = validate_node(output_id)
        except _InnerKeyError as ex:
            ok, reasons = False, [{"type": "exception_during_inner_validation",
                                   "message": "Exception when validating inner node", "details": str(ex),
                                   "extra_info": {"exception_message": str(ex), "exception_type": "KeyError",
                                                  "traceback": list(_INNER_TRACEBACK)}}]
        if ok:
            good_outputs.append(output_id)
            continue
        failed.append((output_id, reasons))
        for node_id, (node_ok, node_reasons, _) in validated.items():
            if node_ok is not True and node_reasons:
                entry = node_errors.setdefault(node_id, {"errors": node_reasons, "dependent_outputs": [],
                                                         "class_type": prompt[node_id]["class_type"]})
                entry["dependent_outputs"].append(output_id)
    if not good_outputs:
        details = "\n".join(f"{e['message']}: {e['details']}" for _, reasons in failed for e in reasons)
        return False, {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
                       "details": details, "extra_info": {}}, [], node_errors
    return True, None, good_outputs, node_errors
