/**
 * Component ids `type[/name]`, with the OpenTelemetry Collector's rules and wording
 * (component/identifiable.go): the type matches `^[a-zA-Z][0-9a-zA-Z_]{0,62}$`; the name (everything after
 * the first `/`) is 1-1024 characters without whitespace, control or symbol characters.
 * Pipeline ids `signal[/name]` follow the same rules.
 */

/** A parsed component id. `name` is undefined for a bare `type`. */
export interface ComponentId {
  readonly type: string;
  readonly name: string | undefined;
}

export type ParseIdResult =
  { readonly ok: true; readonly id: ComponentId } | { readonly ok: false; readonly error: string };

const SEPARATOR = '/';
const TYPE = /^[a-zA-Z][0-9a-zA-Z_]{0,62}$/;
const NAME = /^[^\p{Z}\p{C}\p{S}]+$/u;
const MAX_NAME_LENGTH = 1024;

/** Checks a type on its own (factory registration uses it). Returns the error text, or undefined when valid. */
export function typeError(type: string): string | undefined {
  if (type.length === 0) return 'id must not be empty';
  if (!TYPE.test(type)) return `invalid character(s) in type "${type}"`;
  return undefined;
}

function nameError(name: string): string | undefined {
  if (name.length > MAX_NAME_LENGTH) return `name "${name}" is longer than ${MAX_NAME_LENGTH} characters`;
  if (!NAME.test(name)) return `invalid character(s) in name "${name}"`;
  return undefined;
}

/** Parses `type` or `type/name`; never throws. */
export function parseComponentId(text: string): ParseIdResult {
  if (text.length === 0) return { ok: false, error: 'id must not be empty' };
  const cut = text.indexOf(SEPARATOR);
  const type = cut < 0 ? text : text.slice(0, cut);
  const name = cut < 0 ? undefined : text.slice(cut + 1);
  if (cut >= 0) {
    if (type === '') return { ok: false, error: `in "${text}" id: the part before ${SEPARATOR} should not be empty` };
    if (name === '') return { ok: false, error: `in "${text}" id: the part after ${SEPARATOR} should not be empty` };
  }
  const bad = typeError(type) ?? (name === undefined ? undefined : nameError(name));
  if (bad !== undefined) return { ok: false, error: bad };
  return { ok: true, id: { type, name } };
}

/** `type` or `type/name`. */
export function formatComponentId(id: ComponentId): string {
  return id.name === undefined ? id.type : `${id.type}${SEPARATOR}${id.name}`;
}
