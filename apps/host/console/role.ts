import { createContext } from "preact";
import { useContext } from "preact/hooks";

/**
 * Whether the tab's caller may change things (an operator's token, or the loopback console without tokens).
 * A viewer's page shows no pause, resume, replay or purge button: the server would refuse them (403).
 */
export const CanChange = createContext(false);

export const useCanChange = () => useContext(CanChange);
